"""manage.py train: train a model on every event, evaluate it, promote it if better."""

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommend.engine.train import ALGORITHMS
from recommend.selectors import model_version_active
from recommend.training.service import TRAINING_STAGES, model_version_train


class _StageBar:
    """One tqdm bar over the training stages, opened when the first one starts
    (so that a refused request prints no bar) and advanced as each one starts."""

    def __init__(self, *, disable: bool) -> None:
        self.disable = disable
        self.bar: tqdm | None = None

    def __call__(self, stage: str) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=len(TRAINING_STAGES), unit="stage", disable=self.disable
            )
        else:
            self.bar.update(1)
        self.bar.set_description(stage.capitalize())

    def close(self, *, finished: bool) -> None:
        if self.bar is not None:
            if finished:
                self.bar.update(1)
            else:
                self.bar.leave = False  # the error line alone says what happened
            self.bar.close()


class Command(BaseCommand):
    help = (
        "Train a recommender on every event so far, evaluate it on a holdout "
        "against the active model and popularity (nDCG@10), store it, and promote "
        "it when it beats both (or with --force). Exit code 0 also when the new "
        "model was kept as a candidate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm",
            choices=ALGORITHMS,
            help="Algorithm to train (default: RECOMMEND_DEFAULT_ALGORITHM; with "
            "--search-budget and no algorithm, all of them are searched).",
        )
        parser.add_argument(
            "--params",
            default="",
            metavar="JSON",
            help="Parameter overrides as a JSON object, e.g. '{\"factors\": 128}'.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Promote the new model even if it does not beat the baselines.",
        )
        parser.add_argument(
            "--search-budget",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="Spend up to this long searching hyperparameters (train part only).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )
        parser.add_argument(
            "--unless-active",
            action="store_true",
            help="Do nothing when a model is already active (first-run setup).",
        )

    def handle(self, *args, algorithm, params, force, search_budget, **options):
        if options.get("unless_active"):
            active = model_version_active()
            if active is not None:
                self.stdout.write(
                    f"Model version {active.pk} ({active.algorithm}) is active; "
                    "not training (--unless-active)."
                )
                return
        overrides = self._parsed_params(params)
        quiet = options["no_progress"] or options["verbosity"] == 0
        bar = _StageBar(disable=quiet)
        try:
            version = model_version_train(
                algorithm=algorithm,
                params=overrides,
                force=force,
                search_budget=search_budget,
                progress=bar,
            )
        except Exception as exc:
            bar.close(finished=False)
            # One line: the full traceback is logged and the row keeps the error.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CommandError(f"Training failed: {reason}") from exc
        bar.close(finished=True)
        if version.status == version.Status.ACTIVE:
            from recommend.tasks import audiences_refresh_now

            audiences_refresh_now()
        self.stdout.write(self._summary(version))

    def _parsed_params(self, raw: str) -> dict:
        if not raw:
            return {}
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise CommandError("--params must be a JSON object")
        return parsed

    def _summary(self, version) -> str:
        metrics = version.metrics

        def ndcg(name: str) -> str:
            scored = metrics.get(name)
            return "-" if not scored else f"{scored['ndcg']:.4f}"

        promoted = version.status == version.Status.ACTIVE
        outcome = "promoted to active" if promoted else "kept as a candidate"
        active = metrics.get("active_version")
        return (
            f"Model version {version.pk} ({version.algorithm}): {outcome} "
            f"({metrics.get('reason', '')}).\n"
            f"nDCG@{metrics.get('k', 10)}: candidate {ndcg('candidate')}, "
            f"active{f' #{active}' if active else ''} {ndcg('active')}, "
            f"popular {ndcg('popular')}.\n"
            f"Trained on {version.events_count} events, {version.readers_count} "
            f"readers, {version.items_count} items in {version.training_seconds:.1f} s."
        )
