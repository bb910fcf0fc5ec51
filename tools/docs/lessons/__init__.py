"""The notebooks' lessons: tools/docs/lessons/<stage>.py lists a stage's cells, prose in English and Korean, code once."""

from __future__ import annotations

import importlib
from typing import NamedTuple


class Md(NamedTuple):
    en: str
    ko: str


class Code(NamedTuple):
    source: str
    tag: str = ""  # "parameters": the cell a test overrides; "deviation": the one cell that may use private names


class Exercise(NamedTuple):
    en: str  # the task, Markdown
    ko: str
    blank: str  # the learner's cell: what to fill in, with `# your code`
    solution: str  # the same cell, filled in
    check: str  # the assert(s) both run after it: the solution passes, the blank fails


class Lesson(NamedTuple):
    title: Md
    cells: list  # Md and Code, in order
    exercises: list[Exercise]


def lesson(stage: str) -> Lesson:
    module = importlib.import_module(f"tools.docs.lessons.{stage}")
    return Lesson(module.TITLE, module.CELLS, module.EXERCISES)


# Prose the stages share.
NOTHING_EN = (
    "## The loss curves\n\n> **The lecture's data has nothing to learn.** `x` and `y` are independent `randn`: no `w` "
    "predicts `y` from `x`. The loss can fall only to what the best linear map fits (the dotted line, by least squares), "
    "and at lr 1e-6 it does not get there in 5000 steps. The curve falling says the arithmetic works, not that the "
    "model learned something. Below, the same stage on a problem that has something to learn.")
NOTHING_KO = (
    "## 손실 곡선\n\n> **강의의 데이터에는 배울 것이 없습니다.** `x`와 `y`는 서로 독립인 `randn`입니다: 어떤 `w`도 `x`로 "
    "`y`를 예측하지 못합니다. 손실은 가장 좋은 선형 사상이 맞출 수 있는 값(점선, 최소제곱)까지만 내려갈 수 있고, lr 1e-6으로는 "
    "5000 스텝 안에 거기까지 가지 못합니다. 곡선이 내려간다는 것은 계산이 맞다는 뜻이지, 모델이 무언가를 배웠다는 뜻이 "
    "아닙니다. 아래에서 배울 것이 있는 문제로 같은 스테이지를 다시 돌립니다.")
CURVES_EN = "## The loss curves\n\nBoth frameworks on one axis: where the lines overlap, they took the same steps."
CURVES_KO = "## 손실 곡선\n\n두 프레임워크를 한 축에 그립니다: 선이 겹치면 같은 스텝을 밟은 것입니다."
EQUAL_EN = ("## Are they equal?\n\nThe project's tolerance table (`equivalence.tolerance`) says how close two float32 "
            "programs must be: a normwise relative error under 1e-5.")
EQUAL_KO = ("## 둘은 같은가?\n\n프로젝트의 허용 오차 표(`equivalence.tolerance`)가 두 float32 프로그램이 얼마나 가까워야 "
            "하는지 정합니다: 노름 기준 상대 오차 1e-5 미만.")
LEARNABLE_EN = (
    "## The same stage on a problem with something to learn\n\n`netdata.problems.linear` makes "
    "`y = x @ w_true + b_true + noise`. The same two functions at a larger learning rate: the loss converges to the "
    "floor (the model has no bias, so `b_true` stays out of reach), in both frameworks.")
LEARNABLE_KO = (
    "## 배울 것이 있는 문제에서 같은 스테이지\n\n`netdata.problems.linear`는 `y = x @ w_true + b_true + noise`를 "
    "만듭니다. 같은 두 함수에 더 큰 학습률을 주면 두 프레임워크 모두 손실이 바닥까지 수렴합니다 (모델에 편향이 없어 "
    "`b_true`에는 닿지 못합니다).")
