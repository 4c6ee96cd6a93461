"""Where a scene's pixels come from: raster files (local or URL) or an xarray DataArray.

A source answers two questions, both in *raw* stored numbers with no-data as NaN:
``lazy()`` gives a dask-backed DataArray of the whole grid (nothing read), and
``read(window, out_shape)`` reads one window, decimated by rasterio (which uses the file's
overviews when they exist) or by block averaging for arrays.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from affine import Affine

from ..errors import RasterReadError, UnsupportedDataError

#: Chunk size for lazy reads: square blocks, a few MB each.
CHUNK = 1024


@dataclass(frozen=True)
class BandRef:
    """One band of a file: the path (or URL) and the 1-based band index in it."""

    path: str
    index: int = 1


@dataclass
class Grid:
    """The pixel grid shared by all bands: size, affine transform and CRS (``None`` = pixel CRS)."""

    width: int
    height: int
    transform: Affine
    crs: object | None  # a rasterio CRS, or None when the raster has no georeferencing

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None


def _open(path: str):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as exc:
        hint = "check the path" if "://" not in path else "check the URL and your network"
        raise RasterReadError(f"cannot open raster {path!r}: {exc}; {hint}, or pass an xarray.DataArray") from exc


@dataclass
class _SourceInfo:
    """What every source tells about its bands (filled in by the subclass's ``__post_init__``)."""

    grid: Grid = field(init=False)
    dtype: str = field(init=False)
    nodata: list[float | None] = field(init=False)
    descriptions: list[str | None] = field(init=False)
    tags: dict = field(init=False)
    colorinterp: list[str] = field(init=False)


@dataclass
class FileSource(_SourceInfo):
    """Bands read from one or more raster files that share a grid."""

    bands: list[BandRef]
    scales: list[float] = field(init=False)
    offsets: list[float] = field(init=False)
    overviews: list[int] = field(init=False)
    luts: list[np.ndarray | None] = field(init=False)

    def __post_init__(self) -> None:
        self.nodata, self.descriptions, self.scales, self.offsets, self.colorinterp = [], [], [], [], []
        self.luts = []
        dtypes, grid = set(), None
        self.tags = {}
        for ref in self.bands:
            with _open(ref.path) as ds:
                if not 1 <= ref.index <= ds.count:
                    raise RasterReadError(f"{ref.path!r} has {ds.count} band(s); band {ref.index} does not exist")
                dtype = ds.dtypes[ref.index - 1]
                if np.issubdtype(np.dtype(dtype), np.complexfloating):
                    raise UnsupportedDataError(
                        f"{ref.path!r} holds complex samples ({dtype}), i.e. SAR SLC data; take the intensity first "
                        "(e.g. np.abs(slc)**2, or a GRD product) and open that"
                    )
                here = Grid(ds.width, ds.height, ds.transform, ds.crs)
                if grid is None:
                    grid, self.overviews = here, list(ds.overviews(ref.index))
                elif (here.width, here.height, here.transform) != (grid.width, grid.height, grid.transform):
                    raise UnsupportedDataError(
                        f"{ref.path!r} is on a different grid ({here.width}x{here.height}) from the first band "
                        f"({grid.width}x{grid.height}); resample the bands to one grid first (e.g. rioxarray reproject_match)"
                    )
                dtypes.add(dtype)
                self.nodata.append(ds.nodatavals[ref.index - 1])
                self.descriptions.append(ds.descriptions[ref.index - 1])
                self.scales.append(ds.scales[ref.index - 1])
                self.offsets.append(ds.offsets[ref.index - 1])
                self.colorinterp.append(ds.colorinterp[ref.index - 1].name)
                self.luts.append(_palette_lut(ds, ref.index) if self.colorinterp[-1] == "palette" else None)
                self.tags.update(ds.tags())
                self.tags.update(ds.tags(ref.index))
        self.grid = grid
        self.dtype = str(np.result_type(*dtypes))

    @property
    def count(self) -> int:
        return len(self.bands)

    def lazy(self) -> xr.DataArray:
        """The whole grid as a lazy (dask) DataArray of raw values, nodata as NaN; reads nothing."""
        import rioxarray  # noqa: F401  (registers .rio)

        from rasterio.errors import NotGeoreferencedWarning

        layers = []
        for ref, nodata, lut in zip(self.bands, self.nodata, self.luts):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                da = rioxarray.open_rasterio(ref.path, chunks={"band": 1, "x": CHUNK, "y": CHUNK}, masked=False,
                                             mask_and_scale=False, lock=False)
            da = da.isel(band=[ref.index - 1])
            if lut is not None:
                da = da.copy(data=da.data.map_blocks(lambda b, lut=lut: lut[b], dtype="float32"))
            layers.append(_nan_nodata(da, nodata))
        out = xr.concat(layers, dim="band") if len(layers) > 1 else layers[0]
        return out.assign_coords(band=np.arange(1, self.count + 1))

    def read(self, window: tuple[int, int, int, int], out_shape: tuple[int, int] | None = None,
             resampling: str = "average", bands=None) -> np.ndarray:
        """Raw float32 values of ``window = (x0, y0, x1, y1)`` (half-open, pixels), shape (bands, h, w).

        With ``out_shape`` the read is decimated by GDAL, using overviews when the file has them. ``bands``
        (0-based positions) reads only those bands. GDAL converts to float32 while reading, straight into the
        returned array (no intermediate copy in the file's type), and no-data becomes NaN in place.
        """
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        x0, y0, x1, y1 = window
        win = Window(x0, y0, x1 - x0, y1 - y0)
        h, w = out_shape if out_shape else (y1 - y0, x1 - x0)
        sel = list(range(self.count)) if bands is None else [int(b) for b in bands]
        out = np.empty((len(sel), h, w), dtype="float32")
        by_path: dict[str, list[int]] = {}  # file -> positions in ``out``
        for j, i in enumerate(sel):
            by_path.setdefault(self.bands[i].path, []).append(j)
        for path, pos in by_path.items():
            indexes = [self.bands[sel[j]].index for j in pos]
            with _open(path) as ds:
                if any(self.luts[sel[j]] is not None for j in pos):
                    data = ds.read(indexes, window=win, out_shape=(len(pos), h, w),
                                   resampling=Resampling[resampling], masked=False)
                    for k, j in enumerate(pos):
                        lut = self.luts[sel[j]]
                        out[j] = lut[data[k]] if lut is not None else data[k]
                elif pos == list(range(pos[0], pos[-1] + 1)):
                    ds.read(indexes, window=win, out=out[pos[0]:pos[-1] + 1], resampling=Resampling[resampling],
                            masked=False)
                else:
                    out[pos] = ds.read(indexes, window=win, out_shape=(len(pos), h, w), out_dtype="float32",
                                       resampling=Resampling[resampling], masked=False)
            for j in pos:
                _nan_nodata_inplace(out[j], self.nodata[sel[j]])
        return out


def _palette_lut(ds, index: int) -> np.ndarray:
    """Grey level (luma) of each palette entry, so palette images read as intensities, not indices."""
    cmap = ds.colormap(index)
    lut = np.zeros(max(256, max(cmap) + 1), dtype="float32")
    for k, (r, g, b, *_) in cmap.items():
        lut[k] = 0.299 * r + 0.587 * g + 0.114 * b
    return lut


def _nan_nodata(da: xr.DataArray, nodata) -> xr.DataArray:
    da = da.astype("float32")
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        da = da.where(da != np.float32(nodata))
    return da


def _nan_nodata_inplace(a: np.ndarray, nodata) -> None:
    """Set the pixels equal to ``nodata`` to NaN in the float32 array ``a``."""
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        a[a == np.float32(nodata)] = np.nan


@dataclass
class ArraySource(_SourceInfo):
    """Bands held by an xarray DataArray (numpy or dask), dims ``(band, y, x)`` or ``(y, x)``."""

    data: xr.DataArray
    overviews: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        da = self.data
        if da.ndim == 2:
            da = da.expand_dims("band")
        if da.ndim != 3:
            raise UnsupportedDataError(f"expected a 2-D or 3-D (band, y, x) DataArray, got dims {da.dims}")
        if np.issubdtype(da.dtype, np.complexfloating):
            raise UnsupportedDataError("complex samples (SAR SLC) are not supported; pass np.abs(x)**2 (intensity)")
        if da.dtype == bool:
            raise UnsupportedDataError("a boolean array is a mask, not an image; pass it as a FreeForm prompt instead")
        georef = _has_rio(da)
        x_dim, y_dim = (da.rio.x_dim, da.rio.y_dim) if georef else (da.dims[2], da.dims[1])
        band_dim = next(d for d in da.dims if d not in (x_dim, y_dim))
        da = da.transpose(band_dim, y_dim, x_dim)
        crs, transform = None, Affine.identity()
        if georef:
            crs = da.rio.crs
            try:
                transform = da.rio.transform(recalc=True) if da.sizes[da.rio.x_dim] > 1 else da.rio.transform()
            except Exception:  # no spatial coords: pixel grid
                transform = Affine.identity()
        self.grid = Grid(int(da.shape[2]), int(da.shape[1]), transform, crs)
        self.dtype = str(da.dtype)
        nod = da.rio.nodata if georef else None
        self.nodata = [nod] * da.shape[0]
        names = da.coords[da.dims[0]].values if da.dims[0] in da.coords else [None] * da.shape[0]
        self.descriptions = [str(n) if isinstance(n, str) else None for n in names]
        long_name = da.attrs.get("long_name")
        if isinstance(long_name, (list, tuple)) and len(long_name) == da.shape[0]:
            self.descriptions = [str(n) for n in long_name]
        self.tags = {k: v for k, v in da.attrs.items() if isinstance(v, (str, int, float))}
        self.colorinterp = ["undefined"] * da.shape[0]
        self.data = da

    @property
    def count(self) -> int:
        return int(self.data.shape[0])

    def lazy(self) -> xr.DataArray:
        out = self.data
        nodata = self.nodata[0]
        out = _nan_nodata(out, nodata)
        return out.assign_coords({out.dims[0]: np.arange(1, self.count + 1)}).rename({out.dims[0]: "band"})

    def read(self, window, out_shape=None, resampling: str = "average", bands=None) -> np.ndarray:
        x0, y0, x1, y1 = window
        sel = slice(None) if bands is None else [int(b) for b in bands]
        sub = self.lazy()[sel, y0:y1, x0:x1]
        arr = np.array(sub.values, dtype="float32")  # always a copy: callers may calibrate it in place
        if out_shape and tuple(out_shape) != arr.shape[1:]:
            arr = block_resample(arr, out_shape)
        return arr


def _has_rio(da: xr.DataArray) -> bool:
    import rioxarray  # noqa: F401

    try:
        da.rio.x_dim  # noqa: B018
        return True
    except Exception:
        return False


def block_resample(arr: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Resample (bands, h, w) to ``out_shape`` by averaging the source pixels that fall in each output pixel
    (NaN-aware; nearest sampling when enlarging)."""
    bands, h, w = arr.shape
    oh, ow = out_shape
    ys = np.minimum((np.arange(h) * oh) // h, oh - 1)
    xs = np.minimum((np.arange(w) * ow) // w, ow - 1)
    if oh > h or ow > w:
        ry = np.minimum((np.arange(oh) * h) // oh, h - 1)
        rx = np.minimum((np.arange(ow) * w) // ow, w - 1)
        return arr[:, ry][:, :, rx]
    finite = np.isfinite(arr)
    vals = np.where(finite, arr, 0.0)
    flat = (ys[:, None] * ow + xs[None, :]).ravel()
    out = np.empty((bands, oh, ow), dtype="float32")
    for b in range(bands):
        s = np.bincount(flat, weights=vals[b].ravel(), minlength=oh * ow)
        n = np.bincount(flat, weights=finite[b].ravel(), minlength=oh * ow)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[b] = (s / n).reshape(oh, ow)
    return out
