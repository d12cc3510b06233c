"""Pure numerical recommender core: matrices, training, evaluation, simulation."""
