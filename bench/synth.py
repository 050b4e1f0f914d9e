"""Seeded synthetic message text for benchmarks: Zipf-distributed English-like words,
code identifiers (snake_case, camelCase, dotted names, paths), CJK passages and the
occasional large tool output. Same seed, same text."""

from __future__ import annotations

import itertools
import random

COMMON = ("the to of and a in is it that for you this with on be are not have can we use file "
          "function error test session database search index query result value code change update "
          "build run config path import module return class method string list line data need "
          "will should add fix check type name new one if all from by as or but what when").split()
SYLLABLES = ("ka ri to mo na shi lu ve an el or in ex pro con tra dat log ser vic par sum mer "
             "gen tor ble ment tion ing able ize ure ous ive al ic").split()
CJK_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
             "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点"
             "从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又"
             "么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入"
             "常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西"
             "被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认"
             "六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才"
             "科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商"
             "非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选"
             "标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
IDENTIFIERS = ("parse_session_file get_or_create_project SessionDB.connect src/sessiondb/db.py writer_registry "
               "messages_fts WriterType.MemexKit os.path.join tool_call_id HTTPServer readLine "
               "insert_messages collect_by_path heartbeatInterval np.array json.loads Cargo.toml "
               "lib/parser/mod.rs useEffect setTimeout ~/.claude/projects config.yaml "
               "TypeError KeyError SQLITE_BUSY busy_timeout fetchAll tests/test_search.py").split()


def _zipf_vocabulary(rng: random.Random, size: int) -> list[str]:
    words = set(COMMON)
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    rest = sorted(words - set(COMMON))
    rng.shuffle(rest)
    return COMMON + rest


class TextGenerator:
    """Deterministic message bodies; ``rare_words`` are guaranteed to be rare."""

    def __init__(self, seed: int = 42, vocabulary: int = 60_000) -> None:
        self.rng = random.Random(seed)
        self.words = _zipf_vocabulary(self.rng, vocabulary)
        self.cum = list(itertools.accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(len(self.words))))
        self.cjk_words = ["".join(self.rng.choice(CJK_CHARS) for _ in range(self.rng.randint(2, 4)))
                          for _ in range(3000)]

    def english(self, n: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum, k=n)
        if self.rng.random() < 0.3:
            words[self.rng.randrange(n)] = self.rng.choice(IDENTIFIERS)
        return " ".join(words)

    def chinese(self, n: int) -> str:
        parts = []
        for _ in range(n):
            r = self.rng.random()
            if r < 0.85:
                parts.append(self.rng.choice(self.cjk_words))
            elif r < 0.92:
                parts.append(self.rng.choice(self.words[:300]))
            else:
                parts.append(self.rng.choice(IDENTIFIERS))
            if self.rng.random() < 0.1:
                parts.append("，" if self.rng.random() < 0.7 else "。")
        return "".join(parts)

    def message(self) -> str:
        r = self.rng.random()
        n = max(3, int(self.rng.lognormvariate(3.2, 0.9)))
        if r < 0.03:
            return self.english(self.rng.randint(300, 2000))
        if r < 0.18:
            return self.chinese(max(3, n // 2))
        return self.english(min(n, 400))
