"""The policy's memory: backlog samples and past recommendations of one pool.

:func:`operators.policy.decide` is pure; an :class:`Autoscaler` keeps what it needs
between evaluations (the backlog history over the longest window of the spec, the
recommendations for the stabilisation windows, the decisions for display) and is shared
by the Kubernetes operator (one per ``FocusingPool``) and the local scaler.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from operators.backlog import BacklogHistory, BacklogSample
from operators.plan import AcquisitionPlan
from operators.policy import Decision, Recommendation, decide
from operators.pool import PoolSpec
from operators.throughput import WorkerThroughput


@dataclass(slots=True)
class Autoscaler:
    """Stateful wrapper of :func:`operators.policy.decide` for one pool.

    Parameters
    ----------
    spec
        Pool parameters (replace with :meth:`respec` when the pool changes).
    keep_decisions
        Decisions remembered in :attr:`decisions` (for "workers over time" displays).
    """

    spec: PoolSpec
    keep_decisions: int = 10_000
    history: BacklogHistory = field(default_factory=BacklogHistory)
    recommendations: list[Recommendation] = field(default_factory=list)
    decisions: deque[Decision] = field(default_factory=deque)

    def respec(self, spec: PoolSpec) -> None:
        """Use new parameters from now on (history and recommendations are kept)."""
        self.spec = spec

    def observe(self, sample: BacklogSample) -> None:
        """Add a backlog measurement (older than the spec's longest window is dropped)."""
        self.history = self.history.appended(sample, self.spec.history_s)

    def decide(
        self,
        now: float,
        current: int,
        throughput: WorkerThroughput | None = None,
        plan: AcquisitionPlan | None = None,
    ) -> Decision:
        """Evaluate the policy at ``now`` (POSIX s) for a pool of ``current`` workers and
        remember the recommendation and the decision.

        The first evaluation (a fresh operator or scaler, possibly mid-pass, with no
        history and no arrival rate yet) counts the current size as recommended just
        outside the scale-up window: a running pool is not scaled down before a full
        scale-down window has been observed.
        """
        if not self.recommendations and current > 0:
            seed_time = now - self.spec.scale_up_window_s
            self.recommendations.append(Recommendation(seed_time, current))
        decision = decide(
            self.history,
            throughput or WorkerThroughput.unknown(current),
            plan or AcquisitionPlan(),
            self.spec,
            now,
            current,
            self.recommendations,
        )
        cut = now - max(self.spec.scale_up_window_s, self.spec.scale_down_window_s)
        self.recommendations = [r for r in self.recommendations if r.time > cut]
        self.recommendations.append(decision.as_recommendation)
        self.decisions.append(decision)
        while len(self.decisions) > self.keep_decisions:
            self.decisions.popleft()
        return decision

    @property
    def last(self) -> Decision | None:
        """The latest decision, or ``None`` before the first."""
        return self.decisions[-1] if self.decisions else None
