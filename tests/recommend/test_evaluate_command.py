"""manage.py evaluate: metrics on a file or the stored events, options, no writes."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from wagtail.models import Page

from recommend.models import Event, Reader

JSON_KEYS = {
    "model",
    "precision",
    "recall",
    "map",
    "ndcg",
    "coverage",
    "train_seconds",
    "params",
}

# Per user, the first two items (earliest) are train and the last two test under
# `--split time --ratio 0.5`; u6 has one interaction, so no test part.
TOY_ROWS = {
    "u1": ["A", "B", "C", "D"],
    "u2": ["A", "C", "B", "E"],
    "u3": ["A", "B", "C", "E"],
    "u4": ["B", "C", "A", "D"],
    "u5": ["A", "D", "E", "C"],
    "u6": ["A"],
}


def _toy_file(tmp_path) -> str:
    lines = [
        f"{user}\t{item}\t1\t{1000 + position}"
        for user, items in TOY_ROWS.items()
        for position, item in enumerate(items)
    ]
    path = tmp_path / "toy.tsv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _random_file(tmp_path, *, users: int = 60, items: int = 40, rows: int = 900) -> str:
    rng = np.random.default_rng(3)
    path = tmp_path / "random.csv"
    body = "".join(
        f"{user},{item},{rating},{stamp}\n"
        for user, item, rating, stamp in zip(
            rng.integers(0, users, rows).tolist(),
            rng.zipf(1.5, rows).clip(max=items).tolist(),
            rng.integers(1, 6, rows).tolist(),
            rng.integers(1_000_000, 2_000_000, rows).tolist(),
            strict=True,
        )
    )
    path.write_text("user,item,rating,timestamp\n" + body)
    return str(path)


def _evaluate(*args) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("evaluate", *args, "--no-progress", stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.django_db
def test_popularity_on_a_toy_file_scores_what_is_computed_by_hand(tmp_path):
    # given train popularity (distinct users): A 5, B 3, C 2, D 1, E 0, so the
    # list is A > B > C > D > E minus what the user saw in train (k = 2):
    #   u1 saw A,B -> [C, D], test {C, D}: P 1,  R 1,  AP 1,    nDCG 1
    #   u2 saw A,C -> [B, D], test {B, E}: P .5, R .5, AP .5,   nDCG 1/(1+1/log2 3)
    #   u3 saw A,B -> [C, D], test {C, E}: P .5, R .5, AP .5,   nDCG as u2
    #   u4 saw B,C -> [A, D], test {A, D}: P 1,  R 1,  AP 1,    nDCG 1
    #   u5 saw A,D -> [B, C], test {E, C}: P .5, R .5, AP .25,  nDCG (1/log2 3)/
    #                                                       (1+1/log2 3)
    #   u6 has no test part and is not averaged in.
    # coverage: A, B, C, D recommended out of 5 items.
    path = _toy_file(tmp_path)
    discount = 1 / np.log2(3)
    expected = {
        "precision": 3.5 / 5,
        "recall": 3.5 / 5,
        "map": 3.25 / 5,
        "ndcg": (2 + 2 / (1 + discount) + discount / (1 + discount)) / 5,
        "coverage": 4 / 5,
    }

    # when
    stdout, stderr = _evaluate(
        "--interactions", path, "--split", "time", "--ratio", "0.5", "--k", "2",
        "--models", "popular", "--json",
    )  # fmt: skip

    # then
    (result,) = _json_lines(stdout)
    assert {name: result[name] for name in expected} == pytest.approx(expected)
    assert "5 of 6 readers scored, 5 items, 21 interactions" in stderr


@pytest.mark.django_db
def test_a_file_evaluation_writes_nothing_and_prints_exactly_the_json_keys(tmp_path):
    # given
    path = _random_file(tmp_path)
    counts = (Reader.objects.count(), Event.objects.count(), Page.objects.count())

    # when
    stdout, _ = _evaluate(
        "--interactions", path, "--models", "popular,itemknn,als", "--json"
    )

    # then
    results = _json_lines(stdout)
    assert [result["model"] for result in results] == ["popular", "itemknn", "als"]
    assert all(set(result) == JSON_KEYS for result in results)
    assert results[2]["params"]["factors"] == 64
    after = (Reader.objects.count(), Event.objects.count(), Page.objects.count())
    assert after == counts


@pytest.mark.django_db
@pytest.mark.parametrize("split", ["random", "user", "item", "time"])
def test_each_split_runs_from_the_command_line(tmp_path, split):
    # given
    path = _random_file(tmp_path)

    # when
    stdout, stderr = _evaluate(
        "--interactions", path, "--split", split, "--models", "popular", "--json"
    )

    # then
    (result,) = _json_lines(stdout)
    assert f"split {split} 0.75" in stderr
    assert 0 < result["precision"] <= 1 and 0 < result["ndcg"] <= 1


@pytest.mark.django_db
def test_min_rating_keeps_only_high_ratings_and_the_table_is_readable(tmp_path):
    # given ratings 1..5; only 4 and 5 stay
    path = tmp_path / "ratings.tsv"
    rows = [(u, i, 1 + (u + i) % 5) for u in range(8) for i in range(6)]
    path.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in rows))
    kept = sum(rating >= 4 for _, _, rating in rows)

    # when
    stdout, _ = _evaluate(
        "--interactions", str(path), "--min-rating", "4", "--models", "popular"
    )

    # then
    lines = stdout.splitlines()
    assert f"{kept} interactions" in lines[0]
    assert lines[1].split()[:3] == ["model", "precision@10", "recall@10"]
    assert lines[2].startswith("popular ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ratio", "1"], "--ratio must be between 0 and 1 (exclusive)"),
        (["--models", "als,magic"], "unknown: magic"),
        (["--min-rating", "4"], "--min-rating applies to --interactions files only"),
        (["--k", "0"], "--k must be at least 1"),
        ([], "no interactions to evaluate in the stored events"),
    ],
)
def test_bad_options_and_empty_data_fail_with_one_line(arguments, message):
    # when
    with pytest.raises(CommandError) as failure:
        _evaluate(*arguments)

    # then
    assert message in str(failure.value)
    assert "\n" not in str(failure.value)


@pytest.mark.django_db
def test_a_time_split_needs_timestamps_in_the_file(tmp_path):
    # given
    path = tmp_path / "no-times.tsv"
    path.write_text("1\t2\t5\n1\t3\t4\n2\t3\t5\n")

    # when
    with pytest.raises(CommandError) as failure:
        _evaluate("--interactions", str(path), "--split", "time")

    # then
    assert str(failure.value) == "--split time needs a timestamp on every row"


@pytest.mark.django_db
def test_seeds_report_the_mean_and_spread_of_each_model(tmp_path):
    # given
    path = _random_file(tmp_path)
    singles = [
        _json_lines(
            _evaluate(
                "--interactions",
                path,
                "--models",
                "popular,ease",
                "--seed",
                seed,
                "--json",
            )[0]
        )
        for seed in ("1", "2", "3")
    ]

    # when
    stdout, _ = _evaluate(
        "--interactions", path, "--models", "popular,ease", "--seeds", "1,2,3", "--json"
    )
    table, _ = _evaluate(
        "--interactions", path, "--models", "popular,ease", "--seeds", "1,2,3"
    )

    # then each line is the mean over the three single-seed runs, with its spread
    results = _json_lines(stdout)
    assert [result["model"] for result in results] == ["popular", "ease"]
    for position, result in enumerate(results):
        ndcgs = [single[position]["ndcg"] for single in singles]
        assert result["seeds"] == [1, 2, 3]
        assert result["ndcg"] == pytest.approx(np.mean(ndcgs))
        assert result["spread"]["ndcg"] == pytest.approx(np.std(ndcgs, ddof=1))
    assert f"{results[1]['ndcg']:.4f}±{results[1]['spread']['ndcg']:.4f}" in table


@pytest.mark.django_db
def test_auto_with_a_trial_budget_names_the_algorithm_it_chose(tmp_path):
    # when
    stdout, _ = _evaluate(
        "--interactions",
        _random_file(tmp_path),
        "--models",
        "auto",
        "--search-trials",
        "9",
        "--json",
    )

    # then
    (result,) = _json_lines(stdout)
    assert result["params"]["algorithm"] in (
        "ease",
        "als",
        "itemknn",
        "bpr",
        "recent",
        "popular",
    )
