"""Splits (PUB, PUR, hold-out, CAMELS periods) and the train-only normalisation statistics."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from backend.data.camels import AttributeTable
from backend.data.normalization import Normalizer, transform_static
from backend.data.splits import (
    PUR_REGION_GROUPS,
    TEST_PERIOD,
    TRAIN_PERIOD,
    holdout_split,
    pub_folds,
    pur_folds,
)
from backend.data.variables import FORCING_VARIABLES, STATIC_BY_NAME, Kind, input_static_names

IDS = [f"{i:08d}" for i in range(1000, 1000 + 53 * 7, 7)]  # 53 fake 8-digit ids


# --- splits ---------------------------------------------------------------------------------------------
def test_camels_periods():
    assert TRAIN_PERIOD == ("1999-10-01", "2008-09-30")
    assert TEST_PERIOD == ("1989-10-01", "1999-09-30")


@pytest.mark.parametrize("k", [2, 5, 10])
def test_pub_folds_partition_the_basins(k):
    folds = pub_folds(IDS, k, seed=1)
    assert len(folds) == k
    tested = [g for f in folds for g in f.test]
    assert sorted(tested) == sorted(IDS)  # every basin tested exactly once
    assert len(set(tested)) == len(IDS)
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for fold in folds:
        assert not set(fold.train) & set(fold.test)
        assert sorted(fold.train + fold.test) == sorted(IDS)
    assert len({f.name for f in folds}) == k


def test_pub_folds_seeded():
    a = pub_folds(IDS, 5, seed=7)
    assert a == pub_folds(list(reversed(IDS)), 5, seed=7)  # input order does not matter
    assert [f.test for f in a] != [f.test for f in pub_folds(IDS, 5, seed=8)]


@pytest.mark.parametrize("k", [1, 0, len(IDS) + 1])
def test_pub_folds_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        pub_folds(IDS, k, seed=0)


def test_pur_folds_hold_out_whole_regions_synthetic():
    regions = {g: f"{(i % 18) + 1:02d}" for i, g in enumerate(IDS)}
    folds = pur_folds(IDS, regions)
    assert [f.name for f in folds] == [f"pur-{n}" for n in PUR_REGION_GROUPS]
    for fold in folds:
        test_regions = {regions[g] for g in fold.test}
        train_regions = {regions[g] for g in fold.train}
        assert not test_regions & train_regions
        assert sorted(fold.train + fold.test) == sorted(IDS)
    assert sorted(g for f in folds for g in f.test) == sorted(IDS)


@pytest.mark.real_data
def test_pur_folds_on_camels_regions(attributes):
    ids = attributes.gauge_ids
    region = dict(zip(ids, attributes.categorical["huc_02"], strict=True))
    folds = pur_folds(ids, region)
    assert len(folds) == 3
    for fold in folds:
        assert len(fold.test) > 50
        assert not {region[g] for g in fold.test} & {region[g] for g in fold.train}
    assert sorted(g for f in folds for g in f.test) == ids


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_holdout_split(fraction):
    kept, out = holdout_split(IDS, fraction, seed=3)
    assert len(out) == round(fraction * len(IDS))
    assert not set(kept) & set(out)
    assert sorted(kept + out) == sorted(IDS)
    assert (kept, out) == holdout_split(IDS, fraction, seed=3)
    assert out != holdout_split(IDS, fraction, seed=4)[1]


# --- a synthetic attribute table ------------------------------------------------------------------------
def _table(n: int = 40, seed: int = 0) -> AttributeTable:
    rng = np.random.default_rng(seed)
    ids = [f"{10_000_000 + i:08d}" for i in range(n)]
    table = AttributeTable(gauge_ids=ids)
    for name in input_static_names(Kind.NUMERIC):
        values = rng.lognormal(1.0, 1.0, n) if STATIC_BY_NAME[name].log else rng.normal(5.0, 2.0, n)
        table.numeric[name] = values
    for name in input_static_names(Kind.CATEGORICAL):
        table.categorical[name] = [["a", "b", "c"][i % 3] for i in range(n)]
    table.numeric["p_mean"][3] = np.nan  # one missing value in a training basin
    table.categorical["dom_land_cover"][4] = None
    return table


TRAIN = [f"{10_000_000 + i:08d}" for i in range(30)]
TEST = [f"{10_000_000 + i:08d}" for i in range(30, 40)]


def test_fit_uses_training_basins_only():
    table = _table()
    norm = Normalizer.fit(table, None, TRAIN)
    changed = copy.deepcopy(table)
    rows = [changed.index(g) for g in TEST]
    for name in changed.numeric:
        changed.numeric[name][rows] = 1e6
    for name in changed.categorical:
        for r in rows:
            changed.categorical[name][r] = "only-in-test"
    again = Normalizer.fit(changed, None, TRAIN)
    assert again == norm
    assert "only-in-test" not in again.vocabularies["dom_land_cover"]
    # and the statistics are those of the training rows
    i = norm.static_names.index("area_gages2")
    train_rows = [table.index(g) for g in TRAIN]
    logged = np.log10(table.numeric["area_gages2"][train_rows] + 1e-3)
    assert norm.static_mean[i] == pytest.approx(logged.mean())
    assert norm.static_std[i] == pytest.approx(logged.std())
    assert norm.n_locations == 30
    # fitting on all basins gives different statistics (the test above is not vacuous)
    assert Normalizer.fit(changed, None, TRAIN + TEST).static_mean != norm.static_mean


def test_static_names_are_inputs_only():
    norm = Normalizer.fit(_table(), None, TRAIN)
    assert norm.static_names == input_static_names(Kind.NUMERIC)
    assert not {"q_mean", "runoff_ratio", "baseflow_index", "gauge_lat", "gauge_lon"} & set(norm.static_names)
    assert list(norm.vocabularies) == input_static_names(Kind.CATEGORICAL)


def test_missing_statics_are_masked_not_zero_data():
    table = _table()
    norm = Normalizer.fit(table, None, TRAIN)
    z, observed = norm.statics(table, TRAIN)
    j = norm.static_names.index("p_mean")
    assert not observed[3, j] and z[3, j] == 0.0
    assert observed.sum() == observed.size - 1
    assert not np.isnan(z).any() and z.dtype == np.float32
    # observed training values are standardised (mean 0, std 1 per column)
    assert np.nanmean(np.where(observed, z, np.nan), axis=0) == pytest.approx(np.zeros(z.shape[1]), abs=1e-5)
    col = z[observed[:, j], j]
    assert col.std() == pytest.approx(1.0, rel=1e-4)


def test_statics_inverse_round_trips_including_log_attributes():
    table = _table()
    norm = Normalizer.fit(table, None, TRAIN)
    ids = TRAIN + TEST
    z, observed = norm.statics(table, ids)
    back = norm.statics_inverse(z.astype(np.float64))
    raw = np.stack([table.numeric[n][[table.index(g) for g in ids]] for n in norm.static_names], axis=1)
    assert np.allclose(back[observed], raw[observed], rtol=1e-4)
    logged = [i for i, n in enumerate(norm.static_names) if STATIC_BY_NAME[n].log]
    assert logged  # area_gages2, aridity, soil_depth_pelletier
    assert np.allclose(back[:, logged], raw[:, logged], rtol=1e-4)
    assert np.allclose(transform_static("area_gages2", np.array([999.999])), 3.0)


def test_forcings_mask_and_inverse():
    rng = np.random.default_rng(1)
    forcings = rng.normal(10.0, 3.0, (4, 50, len(FORCING_VARIABLES))).astype(np.float32)
    forcings[0, 5, 1] = np.nan
    norm = Normalizer.fit(_table(), forcings, TRAIN)
    assert norm.forcing_names == list(FORCING_VARIABLES)
    assert norm.forcing_mean[1] == pytest.approx(np.nanmean(forcings[..., 1]), rel=1e-6)
    z, observed = norm.forcings(forcings)
    assert not observed[0, 5, 1] and z[0, 5, 1] == 0.0
    assert observed.sum() == observed.size - 1
    back = norm.forcings_inverse(z)
    assert np.allclose(back[observed], forcings[observed], atol=1e-4)


def test_categorical_vocabulary_reserves_zero():
    table = _table()
    norm = Normalizer.fit(table, None, TRAIN)
    assert norm.vocabularies["dom_land_cover"] == ["a", "b", "c"]
    other = copy.deepcopy(table)
    other.categorical["dom_land_cover"][0] = "never seen"
    codes = norm.categories(other, TRAIN[:6])
    j = list(norm.vocabularies).index("dom_land_cover")
    assert codes[:, j].tolist() == [0, 2, 3, 1, 0, 3]  # unknown -> 0, a/b/c -> 1/2/3, None -> 0
    assert codes.dtype == np.int64


def test_json_round_trip(tmp_path):
    table = _table()
    forcings = np.random.default_rng(2).normal(size=(3, 20, len(FORCING_VARIABLES))).astype(np.float32)
    norm = Normalizer.fit(table, forcings, TRAIN)
    path = norm.save(tmp_path / "normalizer.json")
    loaded = Normalizer.load(path)
    assert loaded == norm
    assert np.array_equal(loaded.statics(table, TEST)[0], norm.statics(table, TEST)[0])
    assert np.array_equal(loaded.categories(table, TEST), norm.categories(table, TEST))


@pytest.mark.real_data
def test_fit_on_real_attributes(attributes):
    fold = next(f for f in pub_folds(attributes.gauge_ids, 5, seed=0) if "01022500" in f.test)
    norm = Normalizer.fit(attributes, None, fold.train)
    z, observed = norm.statics(attributes, fold.test)
    assert z.shape == (len(fold.test), len(norm.static_names))
    assert np.isfinite(z).all()
    assert observed.mean() > 0.95
    assert np.isfinite(norm.static_mean).all() and (np.array(norm.static_std) > 0).all()
    assert "Mixed Forests" in norm.vocabularies["dom_land_cover"]
    j = norm.static_names.index("area_gages2")
    i = fold.test.index("01022500")
    assert norm.statics_inverse(z.astype(np.float64))[i, j] == pytest.approx(573.6, rel=1e-4)
