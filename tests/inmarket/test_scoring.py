"""Scoring with the recompute: probability, buying stage, reasons in words, the 6QA, and the
move to the funnel's `qualified` stage exactly once."""

import threading
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone, translation

from abmcrm.core.models import OutboxEvent
from funnel.models import AccountFunnel, StageTransition
from inmarket import services, signals
from inmarket.models import AccountSnapshot, InMarketSettings, SixQaQualification
from tests import factories
from tiers import services as tiers_services
from tiers.models import Account

from .helpers import deal, event, icp, monday, signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_contact_fit_needed(db):
    config = InMarketSettings.current()
    config.contact_fit_min = 0
    config.save()
    return config


@pytest.fixture
def scored_hot(no_contact_fit_needed):
    """(now, a hot account) after a recompute scored it."""
    now = timezone.now()
    icp()
    hot = _hot_account(now)
    tiers_services.tiers_recompute(now=now)
    return now, hot


def _hot_account(now, **kwargs):
    """High fit, surging, a CFO who asked for pricing twice this week."""
    account = factories.AccountFactory(**kwargs)
    cfo = factories.ContactFactory(account=account, title="CFO")
    for weeks_back in range(0, 3):
        signal(account, "crm software", 90, monday(now) - timedelta(weeks=weeks_back))
    for weeks_back in range(3, 15):
        signal(account, "crm software", 20, monday(now) - timedelta(weeks=weeks_back))
    event(account, "pricing_page_visit", now - timedelta(days=30), contact=cfo)
    for hours in (2, 5, 30, 50):
        event(account, "pricing_page_visit", now - timedelta(hours=hours), contact=cfo)
    event(account, "pricing_request", now - timedelta(hours=1), contact=cfo)
    return account


class Receiver:
    def __init__(self, signal):
        self.calls = []
        signal.connect(self, weak=False)
        self.signal = signal

    def __call__(self, sender, **kwargs):
        self.calls.append(kwargs)

    def disconnect(self):
        self.signal.disconnect(self)


class TestScores:
    def test_a_recompute_scores_every_account_with_the_rule_until_there_is_a_model(
            self, no_contact_fit_needed):
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        cold = factories.AccountFactory(industry="retail", employees=5)
        result = tiers_services.tiers_recompute(now=now)
        assert result.as_dict()["in_market"]["scored"] == 2
        assert result.as_dict()["in_market"]["fallback"] is True
        hot.refresh_from_db()
        cold.refresh_from_db()
        assert hot.in_market_probability == pytest.approx(0.6)
        assert hot.buying_stage == "purchase"  # a pricing request, in the decision band
        assert hot.is_6qa
        assert cold.buying_stage == "target" and not cold.is_6qa
        assert cold.in_market_probability < hot.in_market_probability
        # Reasons in words.
        assert "CFO engaged" in hot.in_market_reasons
        assert any("Pricing-page visit up" in reason or "Pricing-page visit" in reason
                   for reason in hot.in_market_reasons), hot.in_market_reasons
        assert any("crm software" in reason for reason in hot.in_market_reasons)

    def test_purchase_needs_an_open_deal_or_a_pricing_or_demo_request(self,
                                                                       no_contact_fit_needed):
        now = timezone.now()
        icp()
        engaged = factories.AccountFactory()
        for weeks_back in range(0, 3):
            signal(engaged, "crm", 95, monday(now) - timedelta(weeks=weeks_back))
        event(engaged, "meeting", now - timedelta(days=2))
        with_deal = factories.AccountFactory(industry="retail", employees=5)
        deal(with_deal, now - timedelta(days=3))
        tiers_services.tiers_recompute(now=now)
        engaged.refresh_from_db()
        with_deal.refresh_from_db()
        assert engaged.buying_stage == "decision"  # 0.02 + 0.58 × 0.7 = 0.426, no request
        assert with_deal.buying_stage == "purchase"
        assert not with_deal.is_6qa  # fit below the moderate band

    def test_six_qa_needs_contact_fit_when_the_threshold_asks_for_it(self):
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        tiers_services.tiers_recompute(now=now)
        hot.refresh_from_db()
        # No contact fit is known here (no buying committee data): threshold 50 not met.
        assert hot.buying_stage == "purchase" and not hot.is_6qa


class TestSixQa:
    def test_becoming_6qa_moves_the_account_to_qualified_once(self, no_contact_fit_needed):
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        became = Receiver(signals.account_6qa)
        stages = Receiver(signals.buying_stage_changed)
        try:
            tiers_services.tiers_recompute(now=now)
            funnel = AccountFunnel.objects.get(account=hot)
            assert funnel.stage.slug == "qualified"
            moves = StageTransition.objects.filter(account=hot, to_stage__slug="qualified")
            assert moves.count() == 1
            assert SixQaQualification.objects.filter(account=hot).count() == 1
            assert [call["became"] for call in became.calls] == [True]
            assert became.calls[0]["account_ids"] == [hot.pk]
            assert (hot.pk, "", "purchase") in stages.calls[0]["changes"]

            # Scored again: still 6QA, nothing more recorded.
            tiers_services.tiers_recompute(now=now + timedelta(minutes=1))
            assert moves.count() == 1 and len(became.calls) == 1

            # Losing it records nothing in the funnel, but says so.
            recorded = StageTransition.objects.filter(account=hot).count()
            config = InMarketSettings.current()
            config.decision_min = 0.99
            config.save()
            tiers_services.tiers_recompute(now=now + timedelta(minutes=2))
            assert not Account.objects.get(pk=hot.pk).is_6qa
            assert [call["became"] for call in became.calls] == [True, False]
            assert StageTransition.objects.filter(account=hot).count() == recorded
            assert AccountFunnel.objects.get(account=hot).stage.slug == "qualified"

            # Becoming 6QA again: no second move.
            config.decision_min = 0.2
            config.save()
            tiers_services.tiers_recompute(now=now + timedelta(minutes=3))
            assert Account.objects.get(pk=hot.pk).is_6qa
            assert moves.count() == 1
            assert [call["became"] for call in became.calls] == [True, False, True]

            # Each change is an outbox event too (webhooks, plays, alerts read them there).
            events = OutboxEvent.objects.filter(account_id=hot.pk, type="account.6qa")
            assert [e.data["is_6qa"] for e in events.order_by("id")] == [True, False, True]
            stage_event = OutboxEvent.objects.filter(
                account_id=hot.pk, type="account.buying_stage_changed").order_by("id").first()
            assert (stage_event.data["old_stage"], stage_event.data["new_stage"]) == (
                "", "purchase")
        finally:
            became.disconnect()
            stages.disconnect()

    def test_an_account_past_qualified_is_not_moved_back(self, no_contact_fit_needed):
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        from .helpers import transition

        transition(hot, "opportunity", now - timedelta(days=1))
        AccountFunnel.objects.create(account=hot, stage_id=StageTransition.objects.get(
            account=hot).to_stage_id, entered_at=now - timedelta(days=1),
            stage_changed_at=now - timedelta(days=1), version=1)
        tiers_services.tiers_recompute(now=now)
        hot.refresh_from_db()
        assert hot.is_6qa
        assert AccountFunnel.objects.get(account=hot).stage.slug == "opportunity"
        assert not StageTransition.objects.filter(account=hot, to_stage__slug="qualified")
        # Recorded as qualified once all the same: it never moves there later.
        assert SixQaQualification.objects.filter(account=hot).exists()

    def test_the_qualification_is_recorded_once_per_account(self):
        now = timezone.now()
        account = factories.AccountFactory()
        assert services.qualify([account.pk], now=now) == {account.pk}
        assert services.qualify([account.pk], now=now) == set()


def _reasons_one_by_one(ids, X, contributions, trends, seniors, topics):
    """The reasons as the scoring said them before they were worked out per distinct key:
    account by account (the oracle the grouped version must equal)."""
    from inmarket.features import NAMES
    from inmarket.services.scoring import _words

    language = "en-us"
    out = []
    for row, pk in enumerate(ids):
        order = sorted(range(len(NAMES)), key=lambda j: -contributions[row, j])[:3]
        words = []
        trend, senior, topic = trends.get(pk), seniors.get(pk), topics.get(pk, ())
        for j in order:
            if contributions[row, j] <= 0:
                break
            name = NAMES[j]
            value = float(X[row, j]) if name == "coverage" else float(np.rint(X[row, j]))
            text = _words(name, value, language, trend=trend, senior=senior, topics=topic)
            if text not in words:
                words.append(text)
        if senior:
            text = _words("contacts_30d", 1.0, language, senior=senior)
            if text not in words:
                words.append(text)
        out.append(words)
    return out


class TestReasonsAtScale:
    def test_grouped_reasons_equal_the_account_by_account_ones(self, monkeypatch):
        from inmarket.features import NAMES
        from inmarket.services import scoring

        rng = np.random.default_rng(7)
        n = 3000
        X = rng.integers(0, 6, size=(n, len(NAMES))).astype(np.float32)
        X[:, NAMES.index("coverage")] = rng.choice([0.0, 33.3, 50.0, 100.0], size=n)
        # Ties and negatives (the stable order and the stop at the first push ≤ 0).
        effects = rng.choice([-1.0, 0.0, 0.5, 1.0], size=len(NAMES))
        contributions = scoring._contributions(X.astype(np.float64), effects, {})
        ids = list(range(1, n + 1))
        advanced = rng.random(n) < 0.2
        trends = {pk: ("Pricing-page visit", 4, 1, 4.0) for pk in ids[:50] if advanced[pk - 1]}
        seniors = {pk: "CFO" for pk in ids[25:90] if advanced[pk - 1]}
        chosen = {pk for pk, adv in zip(ids, advanced, strict=True) if adv}
        monkeypatch.setattr(scoring, "_kind_trends", lambda pks, now: {
            pk: trends[pk] for pk in pks if pk in trends})
        monkeypatch.setattr(scoring, "_senior_contacts", lambda pks, now: {
            pk: seniors[pk] for pk in pks if pk in seniors})
        expected = _reasons_one_by_one(
            ids, X, contributions, {k: v for k, v in trends.items() if k in chosen},
            {k: v for k, v in seniors.items() if k in chosen}, {})
        with translation.override("en-us"):
            got = scoring._reasons(ids, X, contributions, advanced, timezone.now())
        assert got == expected
        assert any("CFO engaged" in words for words in got)
        assert len({tuple(words) for words in got}) > 50


class TestSteadyState:
    def test_a_second_scoring_writes_and_announces_nothing_unchanged(
            self, no_contact_fit_needed, django_assert_max_num_queries):
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        factories.AccountFactory.create_batch(5, industry="retail", employees=5)
        tiers_services.tiers_recompute(now=now)
        events = OutboxEvent.objects.count()
        before = {a.pk: (a.in_market_probability, a.buying_stage, a.is_6qa,
                         a.in_market_reasons) for a in Account.objects.all()}
        stages = Receiver(signals.buying_stage_changed)
        try:
            result = services.accounts_score(now=now)
        finally:
            stages.disconnect()
        assert result["scored"] == 6 and result["became_6qa"] == 0
        assert OutboxEvent.objects.count() == events and stages.calls == []
        assert {a.pk: (a.in_market_probability, a.buying_stage, a.is_6qa,
                       a.in_market_reasons) for a in Account.objects.all()} == before
        assert "CFO engaged" in before[hot.pk][3]

    def test_reasons_that_changed_alone_are_written(self, scored_hot):
        now, hot = scored_hot
        hot.refresh_from_db()
        assert "CFO engaged" in hot.in_market_reasons
        events = OutboxEvent.objects.count()
        with translation.override("id"):  # the same scores, said in Indonesian
            services.accounts_score(now=now)
        hot.refresh_from_db()
        assert "CFO engaged" not in hot.in_market_reasons
        assert any("CFO" in reason for reason in hot.in_market_reasons)
        assert OutboxEvent.objects.count() == events  # the stage and the 6QA did not change

    def test_forgotten_marks_compare_with_the_accounts_as_they_stand(self, scored_hot):
        now, hot = scored_hot
        hot.refresh_from_db()
        reasons = hot.in_market_reasons
        # Written besides the scoring (a data fix): the marks are forgotten with it.
        Account.objects.filter(pk=hot.pk).update(in_market_reasons=["stale"])
        services.marks_clear(account_ids=[hot.pk])
        events = OutboxEvent.objects.count()
        services.accounts_score(now=now)
        hot.refresh_from_db()
        assert hot.in_market_reasons == reasons
        assert OutboxEvent.objects.count() == events  # the stage and the 6QA did not change
        assert AccountSnapshot.objects.get(account=hot, week=monday(now)
                                           ).scores_mark is not None

    def test_a_new_model_version_rewrites_the_version_only(self, scored_hot):
        now, hot = scored_hot
        Account.objects.filter(pk=hot.pk).update(in_market_model_version=99)
        services.marks_clear()
        services.accounts_score(now=now)
        hot.refresh_from_db()
        assert hot.in_market_model_version is None  # the rule, no model version


class TestMarks:
    """The scoring keeps the mark of what it wrote on the week's snapshot row, and a
    rescoring compares with the marks instead of reading the accounts' scores."""

    def test_a_rescoring_reads_no_scores_of_the_accounts(self, no_contact_fit_needed):
        from django.db import connection as db
        from django.test.utils import CaptureQueriesContext

        from abmcrm.core.db.names import column

        now = timezone.now()
        icp()
        hot = _hot_account(now)
        factories.AccountFactory.create_batch(4, industry="retail", employees=5)
        tiers_services.tiers_recompute(now=now)
        week = AccountSnapshot.objects.filter(week=monday(now))
        assert week.count() == 5 and not week.filter(scores_mark=None).exists()
        before = list(Account.objects.order_by("pk").values_list(
            "in_market_probability", "buying_stage", "is_6qa", "in_market_reasons"))
        with CaptureQueriesContext(db) as queries:
            result = services.accounts_score(now=now)
        assert result["scored"] == 5
        reads = [q["sql"] for q in queries.captured_queries
                 if column(Account, "in_market_reasons") in q["sql"]]
        assert reads == []  # nothing read, nothing written: the marks said it all
        assert list(Account.objects.order_by("pk").values_list(
            "in_market_probability", "buying_stage", "is_6qa", "in_market_reasons")) == before
        assert hot.pk in dict(Account.objects.filter(is_6qa=True).values_list("pk", "is_6qa"))

    def test_a_changed_score_rewrites_its_mark_and_says_the_old_stage(
            self, no_contact_fit_needed, scored_hot):
        now, hot = scored_hot
        snapshot = AccountSnapshot.objects.get(account=hot, week=monday(now))
        first = bytes(snapshot.scores_mark)
        no_contact_fit_needed.decision_min = 0.99
        no_contact_fit_needed.save()
        stages = Receiver(signals.buying_stage_changed)
        try:
            services.accounts_score(now=now)
        finally:
            stages.disconnect()
        hot.refresh_from_db()
        assert hot.buying_stage in ("target", "awareness", "consideration")
        assert not hot.is_6qa
        assert stages.calls[0]["changes"] == [(hot.pk, "purchase", hot.buying_stage)]
        snapshot.refresh_from_db()
        assert bytes(snapshot.scores_mark) != first
        # The new mark holds: scored again, nothing changes.
        events = OutboxEvent.objects.count()
        services.accounts_score(now=now)
        assert OutboxEvent.objects.count() == events

    def test_a_mark_with_an_unknown_format_or_stage_is_no_mark(self, scored_hot):
        from inmarket.sql.training import MARK

        now, hot = scored_hot
        hot.refresh_from_db()
        stage = hot.buying_stage
        snapshot = AccountSnapshot.objects.filter(account=hot, week=monday(now))
        for field, value in (("stage", 9), ("format", 2)):
            mark = np.frombuffer(bytes(snapshot.get().scores_mark), dtype=MARK).copy()
            mark[field] = value
            Account.objects.filter(pk=hot.pk).update(buying_stage="target")
            snapshot.update(scores_mark=mark.tobytes())
            services.accounts_score(now=now)
            hot.refresh_from_db()
            assert hot.buying_stage == stage, field

    def test_the_next_week_starts_from_the_accounts_and_the_last_week_writes_nothing(
            self, scored_hot):
        now, hot = scored_hot
        hot.refresh_from_db()
        stage = hot.buying_stage
        later = now + timedelta(days=7)
        seen = set(OutboxEvent.objects.values_list("pk", flat=True))
        tiers_services.tiers_recompute(now=later)  # next week's snapshots, and a scoring
        next_week = AccountSnapshot.objects.get(account=hot, week=monday(later))
        assert next_week.scores_mark is not None
        hot.refresh_from_db()
        moves = [event.data for event in OutboxEvent.objects.filter(
            account_id=hot.pk, type="account.buying_stage_changed").exclude(pk__in=seen)]
        # Said from the stage the account held (no mark on the new week's row yet).
        assert moves == ([] if hot.buying_stage == stage else [
            {**moves[0], "old_stage": stage, "new_stage": hot.buying_stage}])
        # A scoring of the week before, late (it began before the new week's): its scores
        # are out of date, and it writes neither them nor its marks.
        hot.refresh_from_db()
        reasons = hot.in_market_reasons
        before = AccountSnapshot.objects.get(account=hot, week=monday(now)).scores_mark
        with translation.override("id"):
            services.accounts_score(now=now)
        hot.refresh_from_db()
        assert hot.in_market_reasons == reasons
        assert AccountSnapshot.objects.get(account=hot, week=monday(now)).scores_mark == before

    def test_many_ids_at_once(self, scored_hot, monkeypatch):
        """More ids than a statement may bind on SQLite (a low limit here, as SQLite's
        older builds have 999): read and cleared by batches; one statement on PostgreSQL."""
        from django.test.utils import CaptureQueriesContext

        from abmcrm.core.db import rowsets
        from inmarket.sql import training as read_sql

        monkeypatch.setattr(rowsets, "SQLITE_PARAMS", 100)
        now, hot = scored_hot
        many = [*range(hot.pk + 1, hot.pk + 250), hot.pk]
        with CaptureQueriesContext(connection) as queries:
            found, _numbers, stages, _reasons = read_sql.read_current(many)
            services.marks_clear(account_ids=many)
        hot.refresh_from_db()
        assert list(found) == [hot.pk] and list(stages) == [hot.buying_stage]
        assert AccountSnapshot.objects.get(account=hot, week=monday(now)).scores_mark is None
        assert len(queries.captured_queries) == (2 if connection.vendor == "postgresql" else 6)

    def test_a_mark_it_cannot_read_is_no_mark(self, scored_hot):
        now, hot = scored_hot
        hot.refresh_from_db()
        stage = hot.buying_stage
        Account.objects.filter(pk=hot.pk).update(buying_stage="target")
        AccountSnapshot.objects.filter(account=hot).update(scores_mark=b"not a mark")
        services.accounts_score(now=now)
        hot.refresh_from_db()
        assert hot.buying_stage == stage


def test_probabilities_are_rounded_as_python_rounds_them():
    from inmarket.services.scoring import _round6

    rng = np.random.default_rng(3)
    p = np.concatenate([rng.random(200_000), (np.arange(20_000) + 0.5) / 1e6, [0.0, 1.0]])
    assert _round6(p).tolist() == [round(value, 6) for value in p.tolist()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the chunks are read ahead on PostgreSQL only (SQLite reads in line)")
class TestReadAhead:
    """Outside a transaction, on PostgreSQL, the next chunk is read in a thread of its own
    while the current one is scored and written."""

    @pytest.fixture
    def accounts(self, settings, no_contact_fit_needed):
        settings.ABMCRM_RECOMPUTE_CHUNK_SIZE = 3
        now = timezone.now()
        icp()
        hot = [_hot_account(now) for _ in range(2)]
        factories.AccountFactory.create_batch(7, industry="retail", employees=5)
        tiers_services.tiers_recompute(now=now)  # fit scores, snapshots, and a scoring
        return now, hot

    @staticmethod
    def _outcome():
        accounts = sorted(Account.objects.values_list(
            "pk", "in_market_probability", "buying_stage", "is_6qa",
            "in_market_model_version", "in_market_reasons"))
        events = sorted(OutboxEvent.objects.values_list("type", "account_id", "data"),
                        key=repr)
        moves = sorted(StageTransition.objects.values_list("account_id", "to_stage__slug"))
        return accounts, events, moves, sorted(SixQaQualification.objects.values_list(
            "account_id", flat=True))

    @staticmethod
    def _reset():
        Account.objects.update(in_market_probability=None, buying_stage="", is_6qa=False,
                               in_market_model_version=None, in_market_reasons=[])
        services.marks_clear()
        for model in (OutboxEvent, StageTransition, AccountFunnel, SixQaQualification):
            model.objects.all().delete()

    def test_the_results_equal_the_serial_ones(self, accounts, monkeypatch):
        from abmcrm.core.db import readahead
        from inmarket.sql import training as read_sql

        now, hot = accounts
        threads = []
        read_scored = read_sql.read_scored

        def recorded(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return read_scored(*args, **kwargs)

        monkeypatch.setattr(read_sql, "read_scored", recorded)
        with monkeypatch.context() as serial:
            serial.setattr(readahead, "can_read_ahead", lambda: False)
            self._reset()
            expected = services.accounts_score(now=now)
        assert set(threads) == {"MainThread"} and len(threads) == 4  # 9 accounts, 3 a chunk
        serial_outcome = self._outcome()
        assert serial_outcome[2] and serial_outcome[3]  # the hot accounts qualified

        threads.clear()
        self._reset()
        assert services.accounts_score(now=now) == expected
        assert set(threads) == {"read-ahead"} and len(threads) == 4
        assert self._outcome() == serial_outcome
        # Given ids too.
        threads.clear()
        self._reset()
        assert services.accounts_score(now=now, account_ids=[a.pk for a in Account.objects
                                                             .all()]) == expected
        assert set(threads) == {"read-ahead"}
        assert self._outcome() == serial_outcome

    def test_an_error_in_the_reads_fails_the_job_and_stops_the_reader(self, accounts,
                                                                    monkeypatch):
        from inmarket.sql import training as read_sql
        from tiers import services as tiers_services_
        from tiers.models import RecomputeJob

        read_scored, calls = read_sql.read_scored, []

        def failing(*args, **kwargs):
            calls.append(threading.current_thread().name)
            if len(calls) == 2:
                raise ValueError("the second chunk could not be read")
            return read_scored(*args, **kwargs)

        self._reset()
        monkeypatch.setattr(read_sql, "read_scored", failing)
        job = RecomputeJob.objects.create()
        with pytest.raises(ValueError, match="second chunk"):
            tiers_services_.recompute_run(job=job)
        job.refresh_from_db()
        assert job.status == RecomputeJob.Status.FAILED
        assert "second chunk could not be read" in job.message
        assert calls == ["read-ahead", "read-ahead"]
        assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
        # The first chunk was written and committed before the error reached the scoring.
        assert Account.objects.exclude(buying_stage="").count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="two scorings side by side need PostgreSQL's row locks")
def test_a_scoring_alongside_another_keeps_each_account_and_its_mark_together(
        no_contact_fit_needed, monkeypatch):
    """Two scorings of the same accounts at once, their marks forgotten: the Indonesian one
    reads its chunk and the accounts (locked), the English one reads its chunk, then the
    Indonesian one writes new reasons and their marks and commits.
    The English one (which, comparing with the reasons before, would have found them
    unchanged and written marks of reasons the accounts no longer hold) reads the accounts
    locked in its chunk's transaction, so after the Indonesian commit, and its
    compare-and-set on the mark it read fails: it writes nothing. The next scoring then
    compares with the Indonesian marks and writes English again."""
    from abmcrm.core.db import readahead
    from inmarket.sql import scores as scores_sql
    from inmarket.sql import training as read_sql

    now = timezone.now()
    icp()
    hot = _hot_account(now)
    factories.AccountFactory.create_batch(3, industry="retail", employees=5)
    tiers_services.tiers_recompute(now=now)

    def state():
        return sorted(Account.objects.values_list("pk", "in_market_reasons"))

    english = state()
    assert "CFO engaged" in dict(english)[hot.pk]
    services.marks_clear()
    english_read, indonesian_locked = threading.Event(), threading.Event()
    errors, written = [], {}
    read_scored, write_marks = read_sql.read_scored, scores_sql.write_marks
    read_current = read_sql.read_current

    def read_locked(*args, **kwargs):
        found = read_current(*args, **kwargs)
        if threading.current_thread().name == "indonesian":
            indonesian_locked.set()
        return found

    def read_then_say(*args, **kwargs):
        chunk = read_scored(*args, **kwargs)
        if threading.current_thread().name == "english":
            english_read.set()
        return chunk

    def ordered(week, rows):
        if threading.current_thread().name == "indonesian":
            assert english_read.wait(timeout=30)
        written[threading.current_thread().name] = marked = write_marks(week, rows)
        return marked

    def score(language):
        try:
            if language == "en":
                assert indonesian_locked.wait(timeout=30)
            with translation.override(language):
                services.accounts_score(now=now)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            english_read.set()
            indonesian_locked.set()
            connection.close()

    # The reads in the scorings' own threads (not read ahead), to order them.
    monkeypatch.setattr(readahead, "can_read_ahead", lambda: False)
    monkeypatch.setattr(read_sql, "read_scored", read_then_say)
    monkeypatch.setattr(read_sql, "read_current", read_locked)
    monkeypatch.setattr(scores_sql, "write_marks", ordered)
    threads = [threading.Thread(target=score, args=(language,), name=name)
               for language, name in (("id", "indonesian"), ("en", "english"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert len(written["indonesian"]) == 4 and written["english"] == set()
    assert "CFO engaged" not in dict(state())[hot.pk]  # the Indonesian scoring's reasons

    monkeypatch.undo()
    services.accounts_score(now=now)
    assert state() == english


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="a data fix alongside a scoring needs PostgreSQL's row locks")
def test_a_data_fix_alongside_a_scoring_is_read_or_clears_the_mark_after_it(
        no_contact_fit_needed):
    """A data fix writes an account's reasons and forgets its marks while a scoring of the
    accounts without marks is under way: the scoring reads the accounts in its chunk's
    transaction, locked, so it waits for the fix and compares with what the fix wrote
    (had it compared with the values before, it would have found them unchanged and
    written a mark of reasons the account no longer holds, and no later scoring would
    have set them right)."""
    import time

    from django.db import transaction

    now = timezone.now()
    icp()
    hot = _hot_account(now)
    tiers_services.tiers_recompute(now=now)
    hot.refresh_from_db()
    scored = hot.in_market_reasons
    services.marks_clear()
    fix_started, errors = threading.Event(), []

    def fix():
        try:
            with transaction.atomic():
                Account.objects.filter(pk=hot.pk).update(in_market_reasons=["fixed by hand"])
                services.marks_clear(account_ids=[hot.pk])
                fix_started.set()
                # Held until the scoring waits for the account's row lock (or 10 s).
                deadline = time.monotonic() + 10
                with connection.cursor() as cursor:
                    while time.monotonic() < deadline:
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                       "wait_event_type = 'Lock' AND datname = "
                                       "current_database()")
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            fix_started.set()
            connection.close()

    def score():
        try:
            assert fix_started.wait(timeout=30)
            services.accounts_score(now=now)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fix), threading.Thread(target=score)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    hot.refresh_from_db()
    assert hot.in_market_reasons == scored  # the scoring saw the fix and wrote its own
    services.accounts_score(now=now)
    hot.refresh_from_db()
    assert hot.in_market_reasons == scored
