"""The words of the README's generated sections, in English and Korean: tools/docs/readme.py fills in the figures."""

WORDS = {
    "en": {
        "tested": "Tested in CI with:",
        "eq_head": "| dtype | rows passing | predictions | gradients | update | trajectory | tolerance |",
        "of": "{a} of {b}",
        "eq_runs": "{n} steps at the {regime} lr", "and": " and ",
        "eq_note": "Worst normwise relative error per quantity over every stage, pair and regime, on the {device}; "
                   "training runs of {runs} (`{command}`).{took}",
        "failing": " Not passing: {what} ({pairs}).",
        "took": " One check takes {f32:.0f} s (float32, the default) and {f64:.0f} s (float64), whole processes on {cores} cores.",
        "speed_head": "| problem | `jax-scan` per step | fastest torch row | its time per step | `jax-scan` speed-up |",
        "seed": "`seed`: the lecture's problem, Adam", "mlp": "`mlp`: a compute-bound MLP, Adam",
        "floor": "on {problem}, `jax-scan` takes {x:.2f}× the time of `jax-floor` (a hand-written one-vector Adam "
                 "scan, a reference)",
        "roofline": "on {problem}, `jax-scan` takes {x:.2f}× the roofline estimate's {est} a step (an estimate, not "
                    "a bound: the fastest row takes {best:.2f}×)",
        "speed_note": "{device}, {cores} cores at load average {load}, float32, matmul precision {precision} "
                      "(`{writer}`).",
        "cmd_head": "| command | first run, wall (CPU) | second run, wall (CPU) | of which training | building the model "
                    "and optimizer | first run's budget: training + compile + 2 s |",
        "cmd_note": "Whole processes on the {device}, {cores} cores at load average {load}{quick}; the second run "
                    "finds its programs in the compile cache (`{writer}`).",
        "quick": " (--quick: a smoke run, not a measurement)",
        "met": "met", "over": "**over**",
        "acc": "Default `--stage mlp` (hidden {hidden}, lr {lr}, weight decay {wd}) test accuracy, {alike} (softmax "
               "regression, same split): {parts} (`{writer}`).",
        "alike": "jax = torch", "differ": "jax / torch", "below": ", **below**", "sep": "; ",
    },
    "ko": {
        "lanes": {"pinned": "고정: `.ci/pinned.txt`, 하한 버전", "newest": "{date}에 pip가 고른 최신 버전"},
        "tested": "CI에서 시험한 환경:",
        "eq_head": "| dtype | 통과한 행 | 예측 | 기울기 | 갱신 | 궤적 | 허용 오차 |",
        "of": "{b}개 중 {a}개",
        "eq_runs": "{regime_ko} {n} 스텝", "and": ", ",
        "eq_note": "모든 스테이지, 쌍, 설정에 걸친 양별 최악의 노름 상대 오차, {device}에서 잼. 훈련 실행은 {runs}"
                   "(`{command}`).{took}",
        "failing": " 통과하지 못함: {what} ({pairs}).",
        "took": " 검사 한 번은 {f32:.0f}초(float32, 기본값), {f64:.0f}초(float64) 걸립니다(프로세스 전체, 코어 {cores}개).",
        "speed_head": "| 문제 | `jax-scan` 스텝당 | 가장 빠른 torch 행 | 그 행의 스텝당 시간 | `jax-scan` 속도 배율 |",
        "seed": "`seed`: 강의의 문제, Adam", "mlp": "`mlp`: 계산이 속도를 정하는 MLP, Adam",
        "floor": "{problem}에서 `jax-scan`은 `jax-floor`(한 벡터에 손으로 쓴 Adam scan, 비교 기준)의 {x:.2f}배 시간이 "
                 "걸립니다",
        "roofline": "{problem}에서 `jax-scan`은 루프라인 추정치(스텝당 {est})의 {x:.2f}배 시간이 걸립니다(상한이 "
                    "아닌 추정치로, 가장 빠른 행은 {best:.2f}배)",
        "speed_note": "{device}, 코어 {cores}개, 부하 평균 {load}, float32, 행렬 곱 정밀도 {precision}"
                      "(`{writer}`).",
        "cmd_head": "| 명령 | 첫 실행, 경과 (CPU) | 두 번째 실행, 경과 (CPU) | 그중 훈련 | 모델과 옵티마이저 만들기 "
                    "| 첫 실행의 예산: 훈련 + 컴파일 + 2 s |",
        "cmd_note": "{device}에서 프로세스 전체를 잼, 코어 {cores}개, 부하 평균 {load}{quick}. 두 번째 실행은 "
                    "컴파일 캐시에서 프로그램을 찾습니다(`{writer}`).",
        "quick": " (--quick: 측정이 아닌 시험 실행)",
        "met": "지킴", "over": "**초과**",
        "acc": "기본 `--stage mlp`(은닉 {hidden}, 학습률 {lr}, 가중치 감쇠 {wd})의 테스트 정확도, {alike} (같은 분할에서 "
               "소프트맥스 회귀): {parts} (`{writer}`).",
        "alike": "jax = torch", "differ": "jax / torch", "below": ", **미달**", "sep": ". ",
    },
}
REGIME_KO = {"lecture": "강의 학습률에서", "train": "훈련 학습률에서"}
