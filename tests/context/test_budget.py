import pytest

from contextos import Budget, BudgetError, Section


def test_available_is_window_minus_reserve():
    assert Budget(context_window=1000, reserve_output=200).available == 800


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"context_window": -5}, "context_window must be positive"),
        ({"context_window": 100, "reserve_output": -1}, "reserve_output must not be negative"),
        ({"context_window": 100, "reserve_output": 100}, "leaves no room"),
        (
            {
                "context_window": 100,
                "sections": {"memory": Section(floor=60), "tools": Section(floor=60)},
            },
            "floors add up to 120",
        ),
    ],
)
def test_impossible_budgets_are_rejected(kwargs, message):
    with pytest.raises(BudgetError, match=message):
        Budget(**kwargs)


def test_floor_above_cap_is_rejected():
    with pytest.raises(BudgetError, match=r"floor \(10\) is above cap \(5\)"):
        Section(floor=10, cap=5)


def test_sections_must_name_known_sources():
    budget = Budget(context_window=100, sections={"memroy": Section(cap=10)})
    with pytest.raises(BudgetError, match=r"unknown sources \['memroy'\]"):
        budget.check_sections(["memory", "tools"])
