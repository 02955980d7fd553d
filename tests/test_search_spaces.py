"""The shipped spaces (search_spaces/, installed as tune_growth.search.spaces): every one loads, validates and builds a schedule; controls search their parent's space; bad files fail early."""

import optuna
import pytest

from tune_growth.schedule.builders import DEFAULTS, RECIPE, build_schedule
from tune_growth.search import spaces
from tune_growth.search.spaces._common import TRAINING_KNOBS


@pytest.mark.parametrize("name", spaces.available())
def test_every_space_builds_valid_schedules(name, mnist):
    space = spaces.load(name)
    for seed in range(3):  # a few random points of the space, each a valid schedule for the dataset
        trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
        extra = space.fn(trial) or {}
        schedule = build_schedule({**space.fixed, **trial.params, **extra}, mnist)
        assert schedule.stages[-1].per_class is None and schedule.stages[-1].image_size == 28
        if len(schedule.stages) > 1:  # PHASE_START bounds the early stages: ASHA's first rung comes after
            assert 1 - schedule.stages[-1].share <= space.phase_start + 1e-9


def _training_knobs(name: str) -> tuple[dict, dict]:
    """(the distributions of the run-wide training settings a space tunes, the values of those it
    fixes); define-by-run spaces ask some parameters only on some branches, so 30 draws."""
    space, tuned = spaces.load(name), {}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        space.fn(trial)
        tuned |= {k: d for k, d in trial.distributions.items() if k in RECIPE}
    return tuned, {k: v for k, v in space.fixed.items() if k in RECIPE}


# a recipe whose stages set their own LR policies (fine-tuning's SGDR restarts, cycle_mult among
# them) has no run-wide policy to tune
OWN_POLICIES = {"finetune": {"lr_policy", "cycle_mult"}}


@pytest.mark.parametrize("name", spaces.available())
def test_every_space_tunes_the_same_training_knobs_the_same_way(name):
    assert set(TRAINING_KNOBS) <= set(RECIPE) <= set(DEFAULTS)
    exempt = OWN_POLICIES.get(name, set())
    drop = lambda knobs: {k: v for k, v in knobs.items() if k not in exempt}  # noqa: E731
    tuned, fixed = (drop(k) for k in _training_knobs(name))
    base_tuned, base_fixed = (drop(k) for k in _training_knobs("baseline"))
    assert set(tuned) == set(TRAINING_KNOBS) - exempt
    assert tuned == base_tuned and fixed == base_fixed


def test_shipped_spaces_cover_the_hypotheses_and_controls():
    assert {"baseline", "h1", "h2", "h3", "combined", "random_growing", "anti_h2"} <= set(spaces.available())


GOOD = '''FIXED = {"hypothesis": "h1"}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS, NUM_TRIALS, PHASE_START = 2.0, 4, 0.4
def space(trial):
    trial.suggest_float("early_share", 0.05, 0.4)
'''

BAD = {
    "syntax error": (GOOD.replace("def space(trial):", "def space(trial)"), "syntax error at line 5"),
    "no space function": (GOOD.split("def space")[0], "lacks ['space']"),
    "space is not a function": (GOOD.split("def space")[0] + "space = 3\n", "'space' is not a function"),
    "unknown parameter": (GOOD + '    trial.suggest_int("h1_strat", 1, 5)\n', "unknown parameter(s) ['h1_strat']"),
    "run-level parameter": (GOOD + '    trial.suggest_float("budget_epochs", 1, 5)\n', "['budget_epochs']"),
    "unknown fixed": (GOOD.replace('{"hypothesis": "h1"}', '{"hypothesis": "h1", "colour": 1}'), "['colour']"),
    "unknown hypothesis": (GOOD.replace('"h1"}', '"h7"}'), "FIXED['hypothesis']='h7'"),
    "bad metric": (GOOD.replace('"val_acc"', '"accuracy"'), "METRIC='accuracy'"),
    "selects on test": (GOOD.replace('"val_acc"', '"test_acc"'), "METRIC='test_acc' selects on the test split"),
    "early share past phase start": (GOOD.replace("0.05, 0.4", "0.05, 0.6"), "early_share=0.6 can exceed"),
    "raises": (GOOD + "    raise KeyError('x')\n", "space(trial) raised KeyError"),
    "import error": ("import not_a_module\n" + GOOD, "failed to import: ModuleNotFoundError"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_space_files_give_one_line_errors(case, tmp_path):
    text, expected = BAD[case]
    path = tmp_path / "myspace.py"
    path.write_text(text)
    with pytest.raises(spaces.SpaceError) as info:
        spaces.load(str(path))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_good_user_space_file_loads(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(GOOD)
    assert spaces.load(str(path)).hypothesis == "h1"


@pytest.mark.parametrize("name, expected", [("h9", "unknown search space 'h9'"),
                                            ("/nowhere/space.py", "does not exist")])
def test_missing_spaces(name, expected):
    with pytest.raises(spaces.SpaceError, match=expected):
        spaces.load(name)


CONTROLS = [("anti_h2", "h2", set()), ("random_growing", "h1", {"h1_selection"})]  # control, parent, fixed by it


@pytest.mark.parametrize("control, parent, fixed", CONTROLS)
def test_a_control_imports_and_searches_its_hypothesis_space_on_equal_terms(control, parent, fixed):
    c, p = spaces.load(control), spaces.load(parent)
    settings = lambda s: (s.metric, s.mode, s.dataset, s.model, s.budget_epochs, s.num_trials, s.phase_start)  # noqa: E731
    assert settings(c) == settings(p)
    source = c.path.read_text()
    assert f"tune_growth.search.spaces.{parent} import" in source or f"from tune_growth.search.spaces import {parent}" in source

    def draws(space):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        trials = [study.ask() for _ in range(5)]
        for trial in trials:
            space.fn(trial)
        return [(t.params, t.distributions) for t in trials]

    expected = [({k: v for k, v in params.items() if k not in fixed}, {k: v for k, v in dists.items() if k not in fixed})
                for params, dists in draws(p)]
    if not fixed:  # the same space: the same draws from the same seed
        assert draws(c) == expected
    else:  # the parent's space less what the control fixes
        assert [d for _, d in draws(c)] == [d for _, d in expected]
