"""cluster.yaml: valid for Ray's own validator (offline), fits the search's defaults, SSH-only."""

import copy
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from tune_growth.search.run import DEFAULT_CPUS_PER_TRIAL, DEFAULT_GPUS_PER_TRIAL

CONFIG = yaml.safe_load((Path(__file__).parents[1] / "cluster.yaml").read_text())


def validate(config):
    validate_config(prepare_config(copy.deepcopy(config)))


def test_cluster_yaml_passes_rays_validator():
    validate(CONFIG)


def test_default_trial_resources_fit_the_gpu_node_type():
    gpu_nodes = [n for n in CONFIG["available_node_types"].values() if n["resources"].get("GPU", 0) > 0]
    assert gpu_nodes, "cluster.yaml needs a GPU worker type"
    node = gpu_nodes[0]
    assert node["min_workers"] == 0 and node["max_workers"] >= 1
    assert node["resources"]["CPU"] >= DEFAULT_CPUS_PER_TRIAL and node["resources"]["GPU"] >= DEFAULT_GPUS_PER_TRIAL
    assert node["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot"


def test_only_ssh_is_open_to_the_world():
    rules = CONFIG["provider"]["security_group"]["IpPermissions"]
    world = [r for r in rules if any(ip["CidrIp"] == "0.0.0.0/0" for ip in r.get("IpRanges", []))]
    assert [(r["FromPort"], r["ToPort"]) for r in world] == [(22, 22)]
    head_cmd = " ".join(CONFIG["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_cmd  # reached through `ray dashboard` (an SSH tunnel)


def test_setup_installs_this_project_and_mounts_shared_storage():
    setup = " ".join(CONFIG["setup_commands"])
    assert "pip install" in setup and "tune_growth" in setup and "/mnt/shared" in setup


@pytest.mark.parametrize("edit", [
    lambda c: c["available_node_types"]["gpu_worker"].update(min_worker=0),   # misspelt key
    lambda c: c["available_node_types"]["gpu_worker"].update(max_workers="eight"),
    lambda c: c.update(head_node_type="nonexistent"),
    lambda c: c["available_node_types"]["gpu_worker"].update(resources="GPU"),
])
def test_a_config_edited_wrong_fails_validation(edit):
    broken = copy.deepcopy(CONFIG)
    edit(broken)
    with pytest.raises(Exception):
        validate(broken)
