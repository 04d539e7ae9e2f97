"""Negative-sentiment spike detection over several horizons at once. Pure and deterministic.

Each key has, per horizon, a baseline of its negative share learned from the windows that have left
that horizon (so a window is never judged against itself), fading over ``baseline_horizons`` horizons.
A horizon is significant when its share of negative authors is improbable under that baseline (a
beta-binomial tail, ``alerts.significance``) at ``z_warning`` with at least ``min_authors`` negative
authors. A key fires at its shortest significant horizon, and the alert says which; it resolves when
that horizon falls back under ``resolve_z`` and no shorter one is significant, then stays quiet a while.
A firing key's baselines do not learn, so a long incident does not raise its own bar; once it has
resolved, a longer horizon still holding the alert does not fire it again.

Names found by capitalization alone (``name:`` keys) are mostly noise: such a key may fire only while it
is emerging, mentioned by far more authors than its own rate predicts (a Poisson tail at ``z_warning``).
A new name has no history to judge its share against, so, having passed that second test, its share
needs only ``AlertSettings.name_threshold``: both tests together are as unlikely as one at the threshold.

An entity key (a symbol, a watched entity, a name) also fires as an **emerging story**: when its
documents' authors outnumber its own rate at the threshold any key's share needs (the emergence test
above, after the warm-up) and outnumber all it had before (``Observation.history``: what has left
its longest horizon, fading over ``baseline_horizons`` of them), at least ``story_min_negative`` of them
wrote negative documents, in as many different texts (``negative_texts``: one headline retweeted or
syndicated is one voice), and its negative share is at least ``story_share``. A thin feed names a
lender in trouble 8 times in 7 hours, 4 of them negative: far too few documents for the share test,
but against four mentions in four months, unmistakable. It resolves when the count falls back to
``resolve_z`` of its rate (the story calmed), as the share test resolves on the share.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from alerts.horizons import ClosedWindow, HorizonWindow, KeyStep, evidence_of, voices
from alerts.settings import AlertSettings
from alerts.significance import DecayedCounts, count_zscore, share_zscore
from common.records import Alert

ALERT_KIND = "negative_spike"
STORY_KIND = "emerging_story"  # an entity key's documents outnumber its own rate, and read negative
NAME_PREFIX = "name:"  # names found by capitalization; they fire only while emerging
ENTITY_PREFIXES = ("$", "entity:", NAME_PREFIX)  # keys whose mentions are tracked for emergence
NAME_WARMUP = timedelta(days=1)  # no entity emerges before the stream is watched this long (and a horizon)
ELEVATED_WEIGHT = 0.1
SEVERITIES = ("warning", "critical")
RATE_PRIOR_S = 6 * 3600  # the assumed rate of a new name weighs as much as 6 hours of watching it


def alert_id(key: str, window_end: datetime, state: str) -> str:
    """Stable across restarts and replays: the same event always gets the same id."""
    return hashlib.sha256(f"{key}|{window_end.isoformat()}|{state}".encode()).hexdigest()[:20]


def is_entity(key: str) -> bool:
    return key.startswith(ENTITY_PREFIXES)


_LINK_OR_TAG = re.compile(r"https?://\S+|[$@#]\S*|\brt\b")
_WORD = re.compile(r"[a-z][a-z0-9']*")


def gist(title: str) -> str:
    """What copies of one text share: its words, without links, cashtags, handles and "RT"."""
    return " ".join(_WORD.findall(_LINK_OR_TAG.sub(" ", title.lower())))


def negative_texts(window: HorizonWindow[ClosedWindow]) -> set[str]:
    """The different texts among the horizon's negative evidence (a window keeps its most negative
    documents): a story is told in several, not one text retweeted or syndicated."""
    return {gist(evidence.title) for evidence in evidence_of(window) if evidence.score < 0}


class Observation(NamedTuple):
    """What the detector made of one horizon of a key at one step, and the event it caused, if any.
    A named tuple: one is made per horizon at every step of every key."""

    window: HorizonWindow[ClosedWindow]
    zscore: float  # of the negative share against the baseline
    baseline: float  # the baseline negative share
    emergence: float | None  # z-score of the author count against the key's own rate (entities only)
    history: float | None = None  # authors the key had before its longest horizon (decayed; entities)
    event: Alert | None = None

    @property
    def key(self) -> str:
        return self.window.key

    @property
    def horizon(self) -> str:
        return self.window.horizon

    def with_event(self, event: Alert) -> Observation:
        return self._replace(event=event)


@dataclass
class KeyState:
    baselines: list[DecayedCounts]  # per horizon: the negative share
    rates: list[DecayedCounts] = field(default_factory=list)  # per horizon: authors a second
    firing: Alert | None = None
    firing_horizon: int = -1
    quiet_until: datetime | None = None
    last_z: list[float] = field(default_factory=list)  # per horizon, at the key's previous step
    told: tuple[datetime, int] | None = None  # the last alert's horizon, and when it fired or resolved
    story: bool = False  # the firing alert is an emerging story (resolves on its count, not its share)


class SpikeDetector:
    """Feed it KeySteps in event-time order per key; it answers with one observation per horizon."""

    def __init__(self, settings: AlertSettings | None = None) -> None:
        self.settings = settings or AlertSettings()
        self.keys: OrderedDict[str, KeyState] = OrderedDict()
        self.forgotten = 0
        self.started: datetime | None = None  # the first window end seen: how long the stream is watched
        s = self.settings
        # per severity and horizon: the z-score any key needs, and the share of an emerging name
        self.thresholds = {sev: {h: s.threshold(h, sev) for h in s.horizons_s} for sev in SEVERITIES}
        self.name_thresholds = {
            sev: {h: s.name_threshold(h, sev) for h in s.horizons_s} for sev in SEVERITIES
        }
        # read at every observation: kept here as plain numbers
        self.elevated_at = {h: self.thresholds["warning"][h] / 2 for h in s.horizons_s}
        self.prior = (s.prior_share, s.prior_weight, s.baseline_cap)
        self.rate_prior = RATE_PRIOR_S / (s.name_prior_days * 86400)  # mentions in the prior's day

    def observe(self, step: KeyStep[ClosedWindow]) -> list[Observation]:
        s = self.settings
        state = self._state(step.key, len(step.horizons))
        if state.firing is None:  # a firing key must not raise its own bar
            for index, (window, gone) in enumerate(zip(step.horizons, step.expired, strict=True)):
                # nor a rising one: what leaves an elevated horizon counts a tenth of its share (the rate
                # learns all of it: a tenth there feeds on itself, a key's own noise lowering its rate)
                elevated = state.last_z[index] >= self.elevated_at[window.horizon_s]
                weight = ELEVATED_WEIGHT if elevated else 1.0
                tau = s.baseline_horizons * window.horizon_s
                for part in gone:
                    authors, negative_authors = voices(part)
                    state.baselines[index].learn(
                        weight * len(negative_authors),
                        weight * len(authors),
                        part.window_end,
                        tau,
                        self.started,
                    )
                    state.rates[index].learn(0.0, len(authors), part.window_end, tau, self.started)
        if self.started is None:
            self.started = step.window_end
        entity = is_entity(step.key)
        history = state.rates[-1].total if entity else None  # what left the longest horizon, fading
        scores = [
            self._score(w, b, r, entity, history)
            for w, b, r in zip(step.horizons, state.baselines, state.rates, strict=True)
        ]
        state.last_z = [o.zscore for o in scores]
        significant = [i for i, o in enumerate(scores) if self._significant(o) or self._story(o)]
        if state.firing is not None:
            shorter = [i for i in significant if i <= state.firing_horizon]  # longer ones hold the past
            held = scores[state.firing_horizon]
            calm = (held.emergence or 0.0) if state.story else held.zscore
            if calm < s.resolve_z and not shorter:
                chosen = scores[state.firing_horizon]
                resolved = self._event(chosen, "resolved", state.firing.severity, state.story)
                scores[state.firing_horizon] = chosen.with_event(resolved)
                quiet = max(s.cooldown_s, chosen.window.horizon_s)
                state.told = (step.window_end, chosen.window.horizon_s)
                state.firing, state.firing_horizon = None, -1
                state.quiet_until = step.window_end + timedelta(seconds=quiet)
        elif (significant := [i for i in significant if self._news(state, step.horizons[i])]) and (
            state.quiet_until is None or step.window_end >= state.quiet_until
        ):
            index = significant[0]  # the shortest significant horizon
            chosen = scores[index]
            state.story = not self._significant(chosen)
            critical = (
                self._story(chosen, "critical") if state.story else self._significant(chosen, "critical")
            )
            severity = "critical" if critical else "warning"
            state.firing = self._event(chosen, "firing", severity, state.story)
            state.firing_horizon = index
            state.told = (step.window_end, chosen.window.horizon_s)
            scores[index] = chosen.with_event(state.firing)
        return scores

    @staticmethod
    def _news(state: KeyState, window: HorizonWindow[ClosedWindow]) -> bool:
        """A longer horizon than the last alert's says nothing new while it still holds any of the time
        that alert was firing: one incident, one alert, not one more per horizon as each catches up."""
        if state.told is None:
            return True
        end, horizon_s = state.told
        return window.horizon_s <= horizon_s or window.window_start >= end

    def _state(self, key: str, horizons: int) -> KeyState:
        state = self.keys.get(key)
        if state is None:
            baselines = [DecayedCounts() for _ in range(horizons)]
            rates = [DecayedCounts() for _ in range(horizons)]
            state = self.keys[key] = KeyState(baselines, rates, last_z=[0.0] * horizons)
            while len(self.keys) > self.settings.max_keys:
                self.keys.popitem(last=False)
                self.forgotten += 1
        self.keys.move_to_end(key)
        return state

    def _score(
        self,
        window: HorizonWindow[ClosedWindow],
        baseline: DecayedCounts,
        rate: DecayedCounts,
        entity: bool,
        history: float | None,
    ) -> Observation:
        """``entity``: whether the key is one (``is_entity``); ``history``: its authors before the
        longest horizon (entities only)."""
        a, b = baseline.share(*self.prior)
        z = share_zscore(window.negative_authors, window.authors, a, b)
        emergence = None
        if entity:
            expected = rate.rate(self.rate_prior, RATE_PRIOR_S) * window.horizon_s
            emergence = count_zscore(window.authors, expected)
            if not self._watched_long_enough(window):
                emergence = 0.0  # every key is new to a stream watched for an hour: not judged yet
        return Observation(window, z, a / (a + b), emergence, history)

    def _watched_long_enough(self, window: HorizonWindow[ClosedWindow]) -> bool:
        """An entity may rise once the monitor has watched a day of the stream and then a horizon: the
        horizon's rate learns from what has left it, so before that every steady key looks new."""
        watched = window.window_end - self.started if self.started is not None else timedelta(0)
        return watched >= NAME_WARMUP + timedelta(seconds=window.horizon_s)

    def _significant(self, observation: Observation, severity: str = "warning") -> bool:
        window = observation.window
        threshold = self.thresholds[severity][window.horizon_s]
        if window.negative_authors < self.settings.min_authors:
            return False
        if observation.key.startswith(NAME_PREFIX):  # the emergence the rules see, warm-up included
            emerging = observation.emergence is not None and observation.emergence >= threshold
            return emerging and observation.zscore >= self.name_thresholds[severity][window.horizon_s]
        return observation.zscore >= threshold

    def _story(self, observation: Observation, severity: str = "warning") -> bool:
        """An entity key's emerging story: more authors than its own rate predicts (at the threshold)
        and than it had in all its history before the longest horizon, enough of them negative, and a
        negative share above a feed's usual one."""
        window, s = observation.window, self.settings
        return (
            observation.emergence is not None
            and observation.emergence >= self.thresholds[severity][window.horizon_s]
            and window.authors > (observation.history or 0.0)
            and window.negative_authors >= s.story_min_negative
            and window.negative_ratio >= s.story_share
            and len(negative_texts(window)) >= s.story_min_negative
        )

    @staticmethod
    def _event(observation: Observation, kind: str, severity: str, story: bool = False) -> Alert:
        window = observation.window
        return Alert(
            id=alert_id(window.key, window.window_end, kind),
            key=window.key,
            kind=STORY_KIND if story else ALERT_KIND,
            state=kind,
            severity=severity,
            window_start=window.window_start,
            window_end=window.window_end,
            negative_ratio=window.negative_ratio,
            baseline=observation.baseline,
            zscore=observation.zscore,
            count=window.count,
            evidence=[],
            fired_at=window.window_end,
            horizon=window.horizon,
            negative=window.negative,
            authors=window.authors,
            negative_authors=window.negative_authors,
            name=next((part.name for part in reversed(window.parts) if part.name), ""),
            emergence=observation.emergence,
        )
