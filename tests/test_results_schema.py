"""The Parquet tables' schemas (results/schema.py): declared types hold even for all-null columns,
the version is in the metadata, and a value that does not fit its column is refused at export."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tune_growth.results.export import write_table
from tune_growth.results.load import as_stored
from tune_growth.results.schema import METADATA_KEY, METRICS, SCHEMA_VERSION, TRIALS
from tune_growth.train.records import RECORD_FIELDS


def test_an_all_null_column_is_written_as_its_declared_type_in_every_experiment(tmp_path):
    plain = pd.DataFrame({"trial_id": ["a", "b"], "rung": [None, None], "error": [None, None], "param_lr": [0.1, 0.2]})
    ladder = pd.DataFrame({"trial_id": ["c", "d"], "rung": [0, 1], "error": ["boom", None], "param_lr": [0.3, 0.4]})
    schemas = [pq.read_schema(write_table(tmp_path / f"{i}.parquet", f, "trials")) for i, f in enumerate((plain, ladder))]
    for schema in schemas:
        assert schema.field("rung").type == pa.int64() and schema.field("error").type == pa.string()
        assert schema.field("param_lr").type == pa.float64()  # an undeclared column keeps its values' type
        assert schema.metadata[METADATA_KEY] == str(SCHEMA_VERSION).encode()
    assert schemas[0].remove_metadata() == schemas[1].remove_metadata()
    back = as_stored(plain, "trials")  # reading from the trial folders gives what the file gives
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "0.parquet"))


def test_a_value_that_does_not_fit_its_column_is_refused(tmp_path):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        write_table(tmp_path / "bad.parquet", pd.DataFrame({"rung": [0.5]}), "trials")
    assert not (tmp_path / "bad.parquet").exists()


def test_the_metrics_schema_is_the_trainers_record():
    assert set(RECORD_FIELDS) <= set(METRICS)
    assert METRICS["precomputed"] == pa.bool_() and METRICS["val_acc"] == pa.float64() and METRICS["step"] == pa.int64()
    assert {"trial_number", "is_control", "rung", "point", "cpus", "gpus", "device"} <= set(TRIALS)
