"""Exact top-k in score order over one FTS index, from its rank lists.

The score is FTS5's ``bm25()`` (k1 1.2, b 0.75, over ``messages_fts``, or over the CJK
side index, whose lists, text and tokens are its own: ``rank_index.Lists``):

    -sum over the query's phrases p of idf(p) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

The rank index (:mod:`sessiondb.store.rank_index`) lists, per frequent term, the rows
where the term weighs most. This is the threshold algorithm over those lists: walk
each phrase's list best first, score the rows seen exactly, and stop once the k-th best
beats the most any unseen row could score (each phrase's weight times the impact
where its list stands; a phrase's count is at most its rarest word's). A phrase with a
word too rare to be listed contributes every row it matches as a candidate instead.
Candidates are scored from their text, tokenized by the index's own tokenizer, so
phrases, prefixes and exclusions mean what they mean to FTS5. Rows the lists do not
cover (newer than the lists, or rewritten since) are always candidates.

``run`` returns None when the lists cannot prove the answer (a filter that keeps
almost none of the listed rows, a prefix with very many listed words): the caller then
ranks every match.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import apsw

from ..store import rank_index
from . import query as query_lang
from . import ranking
from ..store.connection import scalar

# Rows read from a list per step; candidates enumerated or queued beyond these limits
# are cheaper to leave to FTS5's exhaustive ranking.
STEP = 64
MAX_ENUMERATED = 20_000
# Past this many list rows read, or rows scored from their text, FTS5 ranking every
# match is the faster way to the same answer.
MAX_WALKED = 6_000
MAX_SCORED = 600
MAX_EXPANSIONS = 32
MAX_RARE_EXPANSIONS = 500
# A query of several listed phrases (or a prefix) scores every row of their lists in
# one pass of FTS5 over its matches, up to this many rows.
MAX_SCANNED = 50_000
# What one entry of a word's doclist costs an FTS5 pass, and what scoring a row from its
# text costs (microseconds, measured on a million messages).
PASS_COST_US = 0.1
TEXT_COST_US = 13.0
_MAX_CHAR = "\U0010ffff"


@dataclass
class _Phrase:
    term: query_lang.Term
    tokens: list[str]
    negated: bool
    weight: float = 0.0
    lists: list[str] = field(default_factory=list)   # lists that bound this phrase
    summed: bool = False                            # a prefix: its words' bounds add up
    exact: bool = False                             # its list counts exactly this phrase
    enumerated: bool = False                        # every row it matches is a candidate
    extra: str | None = None                        # rows to take as candidates (FTS5 expression)
    docs: dict[str, int] = field(default_factory=dict)   # a prefix: its listed words' row counts

    def count(self, tokens: list[str]) -> int:
        """How many times the phrase occurs in a row's tokens."""
        first, rest = self.tokens[0], self.tokens[1:]
        prefix = self.term.prefix
        if not rest:
            if prefix:
                return sum(1 for tok in tokens if tok.startswith(first))
            return tokens.count(first)
        n, at, width = 0, -1, len(rest)
        while True:
            try:
                at = tokens.index(first, at + 1)
            except ValueError:
                return n
            following = tokens[at + 1:at + 1 + width]
            if following == rest or (prefix and len(following) == width and following[:-1] == rest[:-1]
                                     and following[-1].startswith(rest[-1])):
                n += 1


def stretched(impact: float, drift: float) -> float:
    """The most x = tf / K (BM25's factor is (k1 + 1) * x / (x + 1)) of a row whose impact
    was at most ``impact`` when computed at an average row length since grown by ``drift``."""
    top = rank_index.K1 + 1.0
    h = min(impact, top * (1 - 1e-12))
    return h / (top - h) * drift


@dataclass
class _Listing:
    """The rows of a query's lists: each row's count of the terms it is listed for, and its length."""

    counts: dict[int, dict[str, int]]
    lengths: dict[int, int]


def _any_of(words: list[str]) -> str:
    """An FTS5 expression matching the rows with any of these tokens."""
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


class ListTopK:
    """One score-order search of one index by the threshold algorithm (module docstring)."""

    def __init__(self, conn: apsw.Connection, parsed: query_lang.ParsedQuery, filter_sql: str,
                 filter_params: list[object], need: int, weights: list[float],
                 lists: rank_index.Lists = rank_index.FTS) -> None:
        self.conn, self.parsed, self.need, self.lists = conn, parsed, need, lists
        self.index, self.cjk = lists.index, lists.spaced
        self.filter_sql, self.filter_params = filter_sql, filter_params
        self.weights = weights   # FTS5's weight of each positive phrase, in order
        self.tokenize = rank_index.Tokenizer(conn)
        self.scored = 0          # rows scored one by one (for benchmarks)
        self.heads: dict[str, float] = {}   # where each list of the query stands
        self._phrase_spec: list[tuple[list[str], bool]] | None = None   # the phrases, for count_phrases

    def run(self) -> list[tuple[int, float]] | None:
        state = rank_index.state(self.conn, self.lists)
        if state is None:
            return None
        self.state = state
        rows, tokens = rank_index.fts_totals(self.conn, self.index)
        self.avgdl = tokens / rows if rows else 1.0
        drift = max(1.0, self.avgdl / state.avgdl)
        phrases = self._phrases()
        if phrases is None:
            return None
        self.phrases = phrases
        positives = [p for p in phrases if not p.negated]
        if any(all(self._by_term[t].enumerated for t in clause.terms) for clause in self.parsed.positive):
            return None  # a clause too rare to be listed: ranking its matches is cheap
        for p, weight in zip(positives, self.weights):
            p.weight = weight
        self.best: list[tuple[float, int]] = []   # min-heap of (score, rowid): the best `need`
        self.seen: set[int] = set()
        bounded = [p for p in positives if not p.enumerated]
        listing = None
        if len(bounded) > 1 or any(p.summed or not p.exact for p in bounded):
            listing = self._listing(bounded, drift)
            if listing is None:
                return None
        if not self._rank_unlisted_rows():
            return None
        counted = None
        if listing is not None:
            counted = self._count_listed(listing)
            if len(self.phrases) == 1 and not self._may_prove(counted):
                # The listed rows cannot fill the result above an unseen row's bound; only
                # the phrase's rare words could, so ranking every match is the cheaper bet.
                return None
        for p in positives:
            if p.extra is not None:
                found = self._enumerate(p.extra)
                if found is None:
                    return None
                self._score(found)
        if counted is not None:
            return self._prove_listed(counted)
        return self._walk_lists(positives, drift)

    def _listing(self, bounded: list[_Phrase], drift: float) -> _Listing | None:
        """The rows of the phrases' lists, with their counts and lengths; None when they are
        too many to scan."""
        names = sorted({t for p in bounded for t in p.lists})
        floors = self._floors(names)
        self.drift, self.bounded = drift, bounded
        self.heads = {t: floors.get(t, 0.0) for t in names}
        counts: dict[int, dict[str, int]] = {}
        lengths: dict[int, int] = {}
        for t in names:
            for rowid, tf, dl in self.conn.execute(
                    f"SELECT message_id, tf, dl FROM {self.lists.postings} WHERE term = ?", (t,)):
                counts.setdefault(rowid, {})[t] = tf
                lengths[rowid] = dl
        if len(counts) > MAX_SCANNED:
            return None
        return _Listing(counts, lengths)

    def _count_listed(self, listing: _Listing) -> dict[int, float]:
        """The score of every row of the phrases' lists not ranked yet (higher is better).

        Walking lists best first suits one phrase; with several, the best rows for the
        query are rarely near the top of any one list, and checking the rows the walk
        meets from their text costs more than FTS5 ranking every match. Instead one pass
        of FTS5 enumerates the matches (in C, without ranking them) and counts the
        phrases in the listed ones only (their lengths are in the postings)."""
        listed = listing.lengths.keys() - self.seen   # rows already ranked (the tail, rewritten rows)
        expr = self.parsed.fts(cjk_index=self.cjk)
        summed = len(self.phrases) == 1 and self.phrases[0].summed
        scores: dict[int, float] = {}
        if summed:
            # A prefix alone: its count is the sum of its listed words' counts, except in
            # rows with its rare words, which are scored again from their text (the
            # enumeration of those words follows).
            words, scores = self._counted_words(listing, listed)
            if not words:
                return scores
            # Naming the words spares FTS5 merging the doclists of every word with the prefix.
            expr = _any_of(words)
            listed -= scores.keys() | self.seen
        # The unary + keeps SQLite from handing the IN list to FTS5 as one lookup per row;
        # without a filter the rows need not be looked up in messages at all.
        index = self.index
        joined = "" if self.filter_sql == "1" else f"CROSS JOIN messages m ON m.id = {index}.rowid "
        sql = (f"SELECT {index}.rowid, {ranking.COUNTS}({index}) FROM {index} {joined}"
               f"WHERE {index} MATCH ? AND +{index}.rowid IN (SELECT value FROM json_each(?)) "
               f"AND {self.filter_sql}")
        weights, average, lengths = self.weights, self.avgdl, listing.lengths
        for rowid, counts in self.conn.execute(sql, [expr, json.dumps(sorted(listed)), *self.filter_params]):
            found = [counts] if isinstance(counts, int) else [int(c) for c in counts.split()]
            if summed:
                # The counts the postings hold, and those of the words they lack.
                tfs = listing.counts[rowid]
                found = [sum(tfs.values()) + sum(tf for t, tf in zip(words, found) if t not in tfs)]
            scores[rowid] = -ranking.score(weights, found, lengths[rowid], average)
        if summed and self.filter_sql == "1":
            # Without a filter, a listed row the pass does not find has none of those words.
            for rowid in listed - scores.keys():
                scores[rowid] = self._listed_score(listing, rowid)
        self.scored += len(scores)
        self.seen.update(listed - scores.keys())   # rows the query or the filter does not match
        return scores

    def _counted_words(self, listing: _Listing, listed: set[int]) -> tuple[list[str], dict[int, float]]:
        """For a prefix alone: the listed words whose counts one FTS5 pass finds for the
        listed rows that lack them, and the scores of the rows whose postings hold every
        word. A word in many rows costs that pass more than scoring from their text the
        few listed rows that lack it (PASS_COST_US a doclist entry, TEXT_COST_US a row),
        so those rows are scored here. Without a filter only: with one, every row goes
        through the pass, which applies it."""
        (phrase,) = self.phrases
        if self.filter_sql != "1":
            return phrase.lists, {}
        counts = listing.counts
        lacking = {t: [r for r in listed if t not in counts[r]] for t in phrase.lists}
        passed = [t for t in phrase.lists if phrase.docs.get(t, 0) * PASS_COST_US <= len(lacking[t]) * TEXT_COST_US]
        skipped = [t for t in phrase.lists if t not in passed]
        texts = {r for t in skipped for r in lacking[t]}
        self._score(texts - self.seen)
        known = {rowid: self._listed_score(listing, rowid) for rowid in listed - texts
                 if len(counts[rowid]) == len(phrase.lists)}
        return passed, known

    def _listed_score(self, listing: _Listing, rowid: int) -> float:
        """A prefix's score in a row from the counts its postings hold (higher is better)."""
        return -ranking.score(self.weights, [sum(listing.counts[rowid].values())], listing.lengths[rowid],
                              self.avgdl)

    def _may_prove(self, counted: dict[int, float]) -> bool:
        """Whether ``need`` rows, of those ranked so far and the listed ones, beat the most a
        row in none of the lists scores."""
        found = heapq.nlargest(self.need, [*counted.values(), *(score for score, _ in self.best)])
        return len(found) >= self.need and found[-1] > self._bound({})

    def _prove_listed(self, counted: dict[int, float]) -> list[tuple[int, float]] | None:
        """Offer the listed rows not ranked since, then prove the result: a row in none of
        the lists scores at most each phrase's weight times its lists' floors."""
        for rowid, score in counted.items():
            if rowid not in self.seen:
                self._offer(score, rowid)
        self.seen.update(counted)
        if len(self.best) >= self.need and self.best[0][0] > self._bound({}):
            return self._result()
        return None

    def _walk_lists(self, positives: list[_Phrase], drift: float) -> list[tuple[int, float]] | None:
        bounded = [p for p in positives if not p.enumerated]
        names = sorted({t for p in bounded for t in p.lists})
        floors = self._floors(names)
        cursors = {t: self._walk(t, floors.get(t, 0.0)) for t in names}
        self.heads = {}
        pending: dict[str, list[tuple[int, int, int]]] = {}
        for t, cursor in cursors.items():
            self.heads[t], pending[t] = next(cursor)
        self.drift, self.bounded = drift, bounded
        # Every phrase's count is that of its list's word (or word pair): a row seen in all
        # of them is scored from the lists alone.
        self.from_lists = not self.parsed.negative and len(bounded) == len(positives) and all(
            p.exact for p in bounded)
        known: dict[int, dict[str, float]] = {}   # rowid -> list -> the row's impact there, now
        avgdl = self.avgdl
        walked = steps = 0
        while True:
            unseen = self._bound({})
            full = len(self.best) >= self.need
            live = [t for t in cursors if pending[t]]
            if not live or (full and self.best[0][0] > unseen):
                # No new candidates needed: settle the rows seen in some lists only.
                self._settle(known, everything=True)
                if self.scored > MAX_SCORED:
                    return None
                if len(self.best) >= self.need and self.best[0][0] > unseen:
                    return self._result()
                if not live:
                    return None  # the lists ran out before the answer was proven
                continue
            t = max(live, key=lambda name: self.heads[name] * max(p.weight for p in bounded if name in p.lists))
            walked += len(pending[t])
            if walked > MAX_WALKED or self.scored > MAX_SCORED:
                return None
            for rowid, tf, dl in pending[t]:
                if rowid not in self.seen:
                    known.setdefault(rowid, {})[t] = rank_index.impact(tf, dl, avgdl)
            self.heads[t], pending[t] = next(cursors[t])
            steps += 1
            if len(self.best) < self.need or not steps % 16:
                self._settle(known, everything=False)

    def _floors(self, names: list[str]) -> dict[str, float]:
        """Each list's floor: the most a row it does not hold weighs for its term."""
        return {term: float(floor) for term, floor in self.conn.execute(
            f"SELECT term, floor FROM {self.lists.terms} WHERE term IN (SELECT value FROM json_each(?))",
            (json.dumps(names),))}

    def _bound(self, seen_in: dict[str, float]) -> float:
        """The most a row can score, given its impacts in the lists that have shown it
        (``seen_in``, exact now); in the others it is not above where they stand now.

        BM25's factor is f(x) = (k1 + 1) * x / (x + 1) of x = tf / K, K the row's length
        term k1 * (1 - b + b * dl / avgdl). A list impact h was computed at the lists'
        average length: there x <= h / (k1 + 1 - h). Since then the average grew by at
        most ``drift``, so K shrank by at most that factor and x grew by at most it. For a
        prefix the counts add up, so the x of its words do: f of their sum bounds it."""
        total = 0.0
        top = rank_index.K1 + 1.0
        for p in self.bounded:
            s = 0.0
            least = float("inf")
            for t in p.lists:
                x = stretched(seen_in[t], 1.0) if t in seen_in else stretched(self.heads[t], self.drift)
                s += x
                least = min(least, x)
            x = s if p.summed else least
            total += p.weight * top * x / (x + 1.0)
        return total * (1 + 1e-9)

    def _settle(self, known: dict[int, dict[str, float]], *, everything: bool) -> None:
        """Score candidates that could still make the result, best bound first: from the
        lists when they know every phrase, else from the text. Candidates that cannot
        make it are dropped for good (bounds only fall, the k-th score only rises)."""
        if self.from_lists:
            exact = {}
            for rowid, seen_in in known.items():
                if all(p.lists[0] in seen_in for p in self.bounded):
                    score = 0.0
                    for p in self.bounded:
                        score += p.weight * seen_in[p.lists[0]]
                    exact[rowid] = score
            if exact:
                self._keep_existing(exact)
                for rowid in exact:
                    del known[rowid]
        if not known:
            return
        ranked = sorted(((self._bound(seen_in), rowid) for rowid, seen_in in known.items()), reverse=True)
        while ranked:
            full = len(self.best) >= self.need
            if full and ranked[0][0] <= self.best[0][0]:
                for _, rowid in ranked:
                    del known[rowid]
                    self.seen.add(rowid)  # its bound can only fall: never a candidate again
                return
            if full and not everything:
                return  # the lists may still show more of these rows: score them later
            take = ranked[:STEP] if full else ranked[:self.need - len(self.best)]
            ranked = ranked[len(take):]
            self._score({rowid for _, rowid in take})
            for _, rowid in take:
                del known[rowid]

    def _keep_existing(self, scores: dict[int, float]) -> None:
        """Offer rows scored from the lists, once the table confirms they pass the filter
        (a deleted row is queued as rewritten, and was never a candidate)."""
        self.seen.update(scores)
        if self.filter_sql == "1":
            for rowid, score in scores.items():
                self._offer(score, rowid)
            return
        sql = (f"SELECT m.id FROM messages m WHERE m.id IN (SELECT value FROM json_each(?)) AND {self.filter_sql}")
        for (rowid,) in self.conn.execute(sql, [json.dumps(list(scores)), *self.filter_params]):
            self._offer(scores[rowid], rowid)

    # ---------------------------------------------------------------- the query
    def _phrases(self) -> list[_Phrase] | None:
        """The query's phrases in FTS5's order (positive clauses, then exclusions)."""
        known = {}
        out = []
        self._by_term: dict[query_lang.Term, _Phrase] = {}
        ordered = [(t, False) for c in self.parsed.positive for t in c.terms]
        ordered += [(t, True) for c in self.parsed.negative for t in c.terms]
        words: set[str] = set()
        for term, _ in ordered:
            toks = self._tokens(term)
            words.update(toks)
            words.update(map(rank_index.pair_key, toks, toks[1:]))
        if words:
            known = dict(self.conn.execute(
                f"SELECT term, docs FROM {self.lists.terms} WHERE term IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(words)),)))
        for term, negated in ordered:
            tokens = self._tokens(term)
            if not tokens:
                return None
            phrase = _Phrase(term, tokens, negated)
            if not negated:
                whole = tokens if not term.prefix else tokens[:-1]
                pairs = list(map(rank_index.pair_key, whole, whole[1:]))
                if any(tok not in known for tok in whole + pairs):
                    # A word or word pair too rare to be listed: so is the phrase.
                    phrase.enumerated, phrase.extra = True, term.fts(cjk_index=self.cjk)
                elif whole:
                    phrase.lists = [min(pairs or whole, key=lambda tok: known[tok])]
                    phrase.exact = not term.prefix and len(whole) <= 2
                else:
                    phrase.docs = dict(self.conn.execute(
                        f"SELECT term, docs FROM {self.lists.terms} WHERE term >= ? AND term < ? "
                        "AND instr(term, ' ') = 0 LIMIT ?",
                        (tokens[-1], tokens[-1] + _MAX_CHAR, MAX_EXPANSIONS + 1)))
                    expansions = sorted(phrase.docs)
                    if len(expansions) > MAX_EXPANSIONS:
                        return None
                    # A prefix's count is the sum of its words' counts, and BM25's factor is
                    # subadditive in the count: the sum of their list bounds bounds it.
                    # Rows with words too rare to be listed are all candidates (also those
                    # with a listed word too: the listed words alone do not bound them).
                    phrase.lists, phrase.summed = expansions, True
                    phrase.enumerated = not expansions
                    rare = self._rare_expansions(tokens[-1], set(expansions))
                    if rare is None:
                        return None
                    phrase.extra = _any_of(rare) or None
            self._by_term.setdefault(term, phrase)
            out.append(phrase)
        self._known_docs = known
        return out

    def _tokens(self, term: query_lang.Term) -> list[str]:
        """The tokens the index makes of a query's phrase."""
        return self.tokenize(self.lists.text(term.text), query=True)

    def _rare_expansions(self, prefix: str, listed: set[str]) -> list[str] | None:
        """The index's words that start with ``prefix`` and have no list (None when there
        are more than MAX_RARE_EXPANSIONS): naming them finds their rows in their own short
        doclists, where the prefix itself would merge the listed words' long ones too."""
        words = [r[0] for r in self.conn.execute(
            f"SELECT term FROM temp.{self.index}_vocab WHERE term >= ? AND term < ?", (prefix, prefix + _MAX_CHAR))
            if r[0] not in listed]
        return words if len(words) <= MAX_RARE_EXPANSIONS else None

    # ---------------------------------------------------------------- candidates
    def _rank_unlisted_rows(self) -> bool:
        """Rank the rows the lists do not cover: the tail by FTS5 (same formula and
        weights), rewritten rows from their text. False when they are too many."""
        index = self.index
        dirty = {r[0] for r in self.conn.execute(f"SELECT message_id FROM {self.lists.dirty} LIMIT ?",
                                                 (MAX_ENUMERATED + 1,))}
        if len(dirty) > MAX_ENUMERATED:
            return False
        if self.cjk and dirty:
            # A rewritten row may have left the side index: only those still in it are its matches.
            self.seen.update(dirty)
            dirty = {r[0] for r in self.conn.execute(
                f"SELECT rowid FROM {index} WHERE rowid IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(dirty)),))}
        if self.lists.top(self.conn) <= self.state.built_through:
            self._score_rows(dirty)
            self.seen.update(dirty)
            return True
        marks = ", ".join("?" * len(self.weights))
        sql = (f"SELECT m.id, {ranking.FUNCTION}({index}, {marks}) FROM {index} "
               f"CROSS JOIN messages m ON m.id = {index}.rowid "
               f"WHERE {index} MATCH ? AND {index}.rowid > ? AND {self.filter_sql}")
        for rowid, score in self.conn.execute(sql, [*self.weights, self.parsed.fts(cjk_index=self.cjk),
                                                    self.state.built_through, *self.filter_params]):
            if rowid not in dirty:
                self._offer(-score, rowid)
        self.seen.update(dirty)
        self.seen.update(r for _, r in self.best)
        self._score_rows(dirty)
        return True

    def _enumerate(self, expr: str) -> set[int] | None:
        found = {r[0] for r in self.conn.execute(
            f"SELECT rowid FROM {self.index} WHERE {self.index} MATCH ? AND rowid <= ? LIMIT ?",
            (expr, self.state.built_through, MAX_ENUMERATED + 1))}
        return found if len(found) <= MAX_ENUMERATED else None

    def _walk(self, term: str, floor: float) -> Iterator[tuple[float, list[tuple[int, int, int]]]]:
        """(the most an unread row of this term scores, the next (rowid, tf, dl)) of one
        list, best first; past its end, the floor and nothing."""
        rows = self.conn.execute(f"SELECT impact, message_id, tf, dl FROM {self.lists.postings} WHERE term = ? "
                                 "ORDER BY impact DESC", (term,))
        head: tuple[float, int, int, int] | None = next(rows, None)
        while True:
            if head is None:
                yield floor, []
                continue
            batch: list[tuple[int, int, int]] = []
            top = head[0]
            while head is not None and len(batch) < STEP:
                batch.append((head[1], head[2], head[3]))
                head = next(rows, None)
            yield top, batch

    # ---------------------------------------------------------------- scoring
    def _score(self, rowids: set[int]) -> None:
        fresh = [r for r in rowids if r not in self.seen]
        if fresh:
            self.seen.update(fresh)
            self._score_rows(fresh)

    def _score_rows(self, fresh: list[int] | set[int]) -> None:
        if not fresh:
            return
        self.scored += len(fresh)
        sql = (f"SELECT m.id, m.content_full FROM messages m WHERE m.id IN (SELECT value FROM json_each(?)) "
               f"AND {self.filter_sql}")
        text = self.lists.text
        for rowid, content in self.conn.execute(sql, [json.dumps(list(fresh)), *self.filter_params]):
            score = self._bm25(text(content))
            if score is not None:
                self._offer(score, rowid)

    def _offer(self, score: float, rowid: int) -> None:
        item = (score, rowid)
        if len(self.best) < self.need:
            heapq.heappush(self.best, item)
        elif item > self.best[0]:
            heapq.heapreplace(self.best, item)

    def _bm25(self, content: object) -> float | None:
        """This row's score as a positive number (higher is better), or None if the query
        does not match it."""
        compiled = rank_index._compiled()
        if compiled is not None:
            if self._phrase_spec is None:
                self._phrase_spec = [(p.tokens, p.term.prefix) for p in self.phrases]
            dl, found = compiled.count_phrases(content, self.tokenize, self._phrase_spec)
            counts = dict(zip((p.term for p in self.phrases), found))
        else:
            tokens = self.tokenize(content)
            counts = {p.term: p.count(tokens) for p in self.phrases}
            dl = len(tokens)
        for clause in self.parsed.clauses:
            if any(counts[t] for t in clause.terms) == clause.negated:
                return None
        score = 0.0
        avgdl = self.avgdl
        for p in self.phrases:
            tf = counts[p.term] if not p.negated else 0
            if tf:
                score += p.weight * rank_index.impact(tf, dl, avgdl)
        return score

    def _result(self) -> list[tuple[int, float]]:
        """(rowid, bm25) best first; ties go to the newer row."""
        return [(rowid, -score) for score, rowid in sorted(self.best, key=lambda s: (-s[0], -s[1]))]

