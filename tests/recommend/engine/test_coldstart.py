"""Cold start: folding a reader in, placing a new item by its content."""

import numpy as np

from recommend.engine.coldstart import TfidfIndex, als_fold_in, content_item_factors


def test_new_item_takes_its_content_neighbours_factors():
    # given: two trained items about different things, with opposite factors
    index = TfidfIndex(["baking bread at home", "cycling mountain trails"])
    known = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    # when
    factors = content_item_factors(
        new_features=index.transform(["bread baking tips", "quantum chromodynamics"]),
        known_features=index.matrix,
        known_factors=known,
        neighbours=1,
    )
    # then: the bread item lands on the baking item; the unrelated one stays at 0
    assert np.allclose(factors[0], [1.0, 0.0])
    assert np.allclose(factors[1], [0.0, 0.0])


def test_fold_in_matches_the_closed_form_solution():
    # given
    rng = np.random.default_rng(0)
    item_factors = rng.normal(size=(6, 3)).astype(np.float32)
    columns, weights = np.array([1, 4]), np.array([2.0, 1.0])
    # when
    vector = als_fold_in(
        item_factors=item_factors,
        columns=columns,
        weights=weights,
        regularization=0.1,
        alpha=2.0,
    )
    # then: (YtY + Yu'(Cu - I)Yu + λI) x = Yu' Cu p, computed densely by hand
    y = item_factors.astype(np.float64)
    confidence = np.ones(6)
    confidence[columns] = np.maximum(2.0 * weights, 1.0)  # implicit: alpha * w
    preference = np.zeros(6)
    preference[columns] = 1.0
    left = y.T @ np.diag(confidence) @ y + 0.1 * np.eye(3)
    expected = np.linalg.solve(left, y.T @ (confidence * preference))
    assert np.allclose(vector, expected, atol=1e-4)
