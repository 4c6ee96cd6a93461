"""How the Explorer draws a scene: one fixed rendering (bands, value ranges, colormap) shared by the in-memory
overlay and every map tile, so tiles match each other and the matplotlib rendering of the same scene."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..imagery.render import choose_bands, render_array, robust_range, stretch

#: Longest side of the overview the value ranges are measured on.
STYLE_SAMPLE_SIZE = 1024


@dataclass(frozen=True)
class SceneStyle:
    """Bands (indices into the scene's bands), one value range per band and, for one band, a colormap."""

    modality: str
    units: str
    band_names: tuple[str, ...]
    bands: tuple[int, ...]
    ranges: tuple[tuple[float, float], ...]
    cmap: str | None
    label: str

    @classmethod
    def from_scene(cls, scene, bands=None, sample_size: int = STYLE_SAMPLE_SIZE) -> SceneStyle:
        """The modality rendering of ``scene`` (``bands``: None for the default, or 1 or 3 band names/indices);
        stretch ranges are measured once on an overview of at most ``sample_size`` px."""
        idx = choose_bands(scene.modality, scene.band_names, bands)
        values = scene.overview(sample_size).values
        if len(idx) == 1:
            r = render_array(values, scene.modality, scene.band_names, scene.units, bands=idx)
            ranges, cmap, label = ((float(r.vmin), float(r.vmax)),), r.cmap, r.label
        else:
            ranges, cmap = tuple(robust_range(values[i]) for i in idx), None
            label = f"{scene.units}, 2-98 % stretch per band"
        return cls(scene.modality, scene.units, tuple(scene.band_names), tuple(idx), ranges, cmap, label)

    def render(self, values: np.ndarray) -> np.ndarray:
        """RGBA uint8 (h, w, 4) of calibrated ``values`` (all scene bands, h, w); no data is transparent."""
        names = list(self.band_names)
        if len(self.bands) == 1:
            lo, hi = self.ranges[0]
            return render_array(values, self.modality, names, self.units, bands=list(self.bands), vmin=lo, vmax=hi,
                                cmap=self.cmap, alpha=True).rgb
        sel = values[list(self.bands)].astype("float32", copy=False)
        valid = np.all(np.isfinite(sel), axis=0)
        rgb = np.stack([stretch(b, lo, hi) for b, (lo, hi) in zip(sel, self.ranges)], axis=-1)
        rgb = np.nan_to_num(rgb * 255.0 + 0.5, nan=0.0).astype("uint8")
        rgb[~valid] = 0
        return np.concatenate([rgb, (valid * 255).astype("uint8")[..., None]], axis=-1)

    def describe(self) -> str:
        names = ", ".join(self.band_names[i] for i in self.bands)
        if len(self.bands) == 1:
            lo, hi = self.ranges[0]
            return f"{names}: {self.label} {lo:.4g} .. {hi:.4g}"
        return f"RGB = {names} ({self.label})"

    def colorbar_css(self) -> str | None:
        """A CSS linear-gradient of the colormap (for the legend), or None for RGB composites."""
        if self.cmap is None:
            return None
        if self.cmap in ("gray", "grey"):
            return "linear-gradient(to right, #000, #fff)"
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        cm = colormaps[self.cmap]
        stops = ", ".join(to_hex(cm(t)) for t in np.linspace(0, 1, 9))
        return f"linear-gradient(to right, {stops})"


def display_choices(scene) -> list[tuple[str, object]]:
    """``(label, bands)`` options for the band / rendering chooser (``bands=None`` is the default rendering)."""
    names = list(scene.band_names)
    default = {"sar": "dB window", "infrared": "thermal colormap", "optical": "percentile stretch"}[scene.modality]
    out: list[tuple[str, object]] = [(f"default ({default})", None)]
    if scene.modality == "optical" and {"nir", "red", "green"} <= set(names):
        out.append(("false colour (NIR, red, green)", ("nir", "red", "green")))
    if scene.modality == "optical" and {"swir1", "nir", "red"} <= set(names):
        out.append(("SWIR1, NIR, red", ("swir1", "nir", "red")))
    if len(names) > 1:
        out += [(f"band {n}", (n,)) for n in names]
    return out


PALETTE = ("#ffd400", "#ff3b30", "#00e5ff", "#7cff4f", "#ff7ad9", "#ff9500", "#b388ff", "#ffffff", "#00c7be", "#c0ff00")


class Colours:
    """A stable colour per label, in order of first use (so the legend and the layers agree)."""

    def __init__(self, palette=PALETTE):
        self.palette = tuple(palette)
        self.assigned: dict[str, str] = {}

    def __call__(self, label: str) -> str:
        if label not in self.assigned:
            self.assigned[label] = self.palette[len(self.assigned) % len(self.palette)]
        return self.assigned[label]
