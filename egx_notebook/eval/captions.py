"""Caption metrics for region and scene descriptions: BLEU-4, METEOR, ROUGE-L and CIDEr-D.

Inputs are ``refs``: ``{id: [reference, ...]}`` and ``hyps``: ``{id: hypothesis}`` (plain strings; both are
lower-cased and split into word tokens by :func:`tokenize`). Implementations:

- **BLEU-4**: corpus BLEU of ``nltk`` (uniform 1-4-gram weights, closest-reference brevity penalty, no
  smoothing), as the COCO caption evaluation reports it.
- **METEOR**: ``implementation="auto"`` picks the original METEOR 1.5 (Denkowski & Lavie 2014; exact, stem,
  synonym and paraphrase matching) through ``pycocoevalcap`` when that package and a ``java`` executable are
  present; otherwise ``nltk``'s METEOR, with WordNet synonyms when the NLTK WordNet data is installed and
  **without the synonym stage** (exact + Porter-stem matching only) when it is not. WordNet cannot be
  downloaded in offline setups, so the variant used is returned with the score and numbers from the fallback
  are lower than published METEOR (they never credit synonyms or paraphrases).
- **ROUGE-L**: ``rouge-score``'s LCS F1, the best over an item's references, averaged over items (COCO's
  ROUGE-L weights recall with beta = 1.2 instead of F1).
- **CIDEr-D**: implemented here from Vedantam, Zitnick & Parikh, "CIDEr: Consensus-based Image Description
  Evaluation", CVPR 2015: TF-IDF n-gram vectors (n = 1..4; document frequency over the references of the
  evaluated set), cosine similarity with the hypothesis' weights clipped to the reference's, a Gaussian length
  penalty (sigma = 6), averaged over references and n, times 10. Term frequencies are raw counts as in the
  authors' reference implementation (coco-caption), which published CIDEr-D numbers use.

``nltk`` and ``rouge-score`` are optional dependencies (``pip install "egx-notebook[eval]"``).
"""

from __future__ import annotations

import math
import re
import shutil
import warnings
from collections import Counter

from ..errors import EgxError

#: CIDEr-D constants from the paper: n-gram orders 1..4, Gaussian length-penalty sigma.
CIDER_N = 4
CIDER_SIGMA = 6.0


class MissingMetricDependencyError(EgxError, ImportError):
    """A caption metric needs an optional package that is not installed."""


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingMetricDependencyError(
            f"this caption metric needs {package!r}: pip install {package} (or pip install 'egx-notebook[eval]')"
        ) from exc


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), punctuation dropped."""
    return re.findall(r"[^\W_]+", str(text).lower())


def _pairs(refs: dict, hyps: dict):
    missing = set(hyps) ^ set(refs)
    if missing:
        raise ValueError(f"references and hypotheses must have the same ids; differing: {sorted(missing)[:5]}")
    ids = sorted(hyps, key=str)
    for i in ids:
        if isinstance(refs[i], str):
            raise TypeError(f"refs[{i!r}] must be a list of reference strings, got one string")
        if not refs[i]:
            raise ValueError(f"refs[{i!r}] has no reference")
    return ids


def bleu4(refs: dict, hyps: dict) -> float:
    """Corpus BLEU-4 (0..1)."""
    bleu = _need("nltk.translate.bleu_score", "nltk")
    ids = _pairs(refs, hyps)
    if not ids:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns when some n-gram order has no match (the score is then 0)
        return float(bleu.corpus_bleu([[tokenize(r) for r in refs[i]] for i in ids], [tokenize(hyps[i]) for i in ids]))


class _NoSynonyms:
    """Stands in for WordNet in nltk's METEOR: no synonyms, so only exact and stem matches count."""

    @staticmethod
    def synsets(*_args, **_kwargs):
        return []


def _nltk_wordnet():
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        return None
    from nltk.corpus import wordnet

    return wordnet


def meteor(refs: dict, hyps: dict, implementation: str = "auto") -> tuple[float, str]:
    """Mean METEOR over items and the implementation used: ``"meteor-1.5"``, ``"nltk+wordnet"`` or
    ``"nltk-exact+stem"`` (see the module docstring). ``implementation``: ``auto`` | ``meteor-1.5`` | ``nltk``."""
    ids = _pairs(refs, hyps)
    if implementation not in ("auto", "meteor-1.5", "nltk"):
        raise ValueError("implementation must be 'auto', 'meteor-1.5' or 'nltk'")
    if implementation in ("auto", "meteor-1.5"):
        try:
            from pycocoevalcap.meteor.meteor import Meteor
        except ImportError:
            Meteor = None
        if Meteor is not None and shutil.which("java"):
            if not ids:
                return 0.0, "meteor-1.5"
            scorer = Meteor()
            try:
                _, per = scorer.compute_score({k: [" ".join(tokenize(r)) for r in refs[i]] for k, i in enumerate(ids)},
                                              {k: [" ".join(tokenize(hyps[i]))] for k, i in enumerate(ids)})
            finally:
                scorer.meteor_p.kill()
                scorer.meteor_p.wait()
            return float(sum(per) / len(per)), "meteor-1.5"
        if implementation == "meteor-1.5":
            raise MissingMetricDependencyError("METEOR 1.5 needs pycocoevalcap (pip install pycocoevalcap) and java")
    ms = _need("nltk.translate.meteor_score", "nltk")
    wordnet = _nltk_wordnet()
    name = "nltk+wordnet" if wordnet is not None else "nltk-exact+stem"
    wn = wordnet if wordnet is not None else _NoSynonyms()
    if not ids:
        return 0.0, name
    scores = [ms.meteor_score([tokenize(r) for r in refs[i]], tokenize(hyps[i]), wordnet=wn) for i in ids]
    return float(sum(scores) / len(scores)), name


def rouge_l(refs: dict, hyps: dict) -> float:
    """Mean over items of the best ROUGE-L F1 against the item's references."""
    rs = _need("rouge_score.rouge_scorer", "rouge-score")
    ids = _pairs(refs, hyps)
    if not ids:
        return 0.0
    scorer = rs.RougeScorer(["rougeL"], use_stemmer=False)
    total = 0.0
    for i in ids:
        hyp = " ".join(tokenize(hyps[i]))
        total += max(scorer.score(" ".join(tokenize(r)), hyp)["rougeL"].fmeasure for r in refs[i])
    return total / len(ids)


def _ngrams(tokens: list[str], n_max: int = CIDER_N) -> Counter:
    return Counter(tuple(tokens[k:k + n]) for n in range(1, n_max + 1) for k in range(len(tokens) - n + 1))


def cider_d(refs: dict, hyps: dict, sigma: float = CIDER_SIGMA) -> tuple[float, dict]:
    """CIDEr-D of the set and per item: ``(mean, {id: score})`` (0..10 scale, as published)."""
    ids = _pairs(refs, hyps)
    if not ids:
        return 0.0, {}
    ref_counts = {i: [_ngrams(tokenize(r)) for r in refs[i]] for i in ids}
    # Document frequency: in how many items' reference sets an n-gram occurs.
    df: Counter = Counter()
    for i in ids:
        df.update(set().union(*[set(c) for c in ref_counts[i]]))
    log_n = math.log(len(ids))

    def vector(counts: Counter):
        vec: list[dict] = [{} for _ in range(CIDER_N)]
        for gram, tf in counts.items():
            vec[len(gram) - 1][gram] = tf * (log_n - math.log(max(1.0, df[gram])))
        norms = [math.sqrt(sum(v * v for v in d.values())) for d in vec]
        return vec, norms

    per = {}
    for i in ids:
        hyp_tokens = tokenize(hyps[i])
        hv, hn = vector(_ngrams(hyp_tokens))
        total = 0.0
        for r_text, rc in zip(refs[i], ref_counts[i]):
            rv, rn = vector(rc)
            penalty = math.exp(-((len(hyp_tokens) - len(tokenize(r_text))) ** 2) / (2 * sigma ** 2))
            for n in range(CIDER_N):
                if hn[n] == 0 or rn[n] == 0:
                    continue
                dot = sum(min(w, rv[n].get(g, 0.0)) * rv[n].get(g, 0.0) for g, w in hv[n].items())
                total += penalty * dot / (hn[n] * rn[n])
        per[i] = 10.0 * total / (CIDER_N * len(refs[i]))
    return sum(per.values()) / len(per), per


def caption_scores(refs: dict, hyps: dict, meteor_implementation: str = "auto") -> dict:
    """All four metrics: ``{"bleu4", "meteor", "meteor_impl", "rouge_l", "cider_d", "n"}``."""
    m, impl = meteor(refs, hyps, meteor_implementation)
    return {"bleu4": bleu4(refs, hyps), "meteor": m, "meteor_impl": impl, "rouge_l": rouge_l(refs, hyps),
            "cider_d": cider_d(refs, hyps)[0], "n": len(hyps)}
