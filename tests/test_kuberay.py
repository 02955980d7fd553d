"""The Kubernetes manifests (docs/kubernetes/) against KubeRay's published CRD schemas (a copy in
tests/kuberay/, its source in SOURCE.md), offline: they validate, a broken one does not, and they
run the search the way cluster.yaml does, with its results on a volume every pod shares."""

import copy
import gzip
import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "docs" / "kubernetes"
SCHEMAS = {kind: json.loads(gzip.decompress((ROOT / "tests" / "kuberay" / f"{name}.v1.schema.json.gz").read_bytes()))
           for kind, name in (("RayCluster", "rayclusters"), ("RayJob", "rayjobs"))}


def documents() -> dict[str, dict]:
    """kind -> the one object of that kind in the manifests (every file, every document)."""
    docs = [d for path in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    return {d["kind"]: d for d in docs}


def errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMAS[doc["kind"]])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob"])
def test_the_manifests_validate_against_kuberays_crd_schemas(kind):
    doc = documents()[kind]
    assert doc["apiVersion"] == "ray.io/v1" and errors(doc) == []


@pytest.mark.parametrize("break_it, where", [
    (lambda d: d["spec"]["workerGroupSpecs"][0].update(minReplicas="two"), "workerGroupSpecs/0/minReplicas"),
    (lambda d: d["spec"]["workerGroupSpecs"][0].pop("groupName"), "workerGroupSpecs/0"),
    (lambda d: d["spec"]["headGroupSpec"]["rayStartParams"].update({"num-gpus": 0}), "rayStartParams/num-gpus"),
    (lambda d: d["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0].pop("name"), "containers/0"),
])
def test_a_broken_manifest_is_refused_where_it_is_broken(break_it, where):
    doc = copy.deepcopy(documents()["RayCluster"])
    break_it(doc)
    assert any(where in e for e in errors(doc)), errors(doc)


def _pods(cluster_spec: dict) -> list[dict]:
    return [cluster_spec["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"]
                                                                  for g in cluster_spec["workerGroupSpecs"]]


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob"])
def test_every_pod_mounts_the_shared_results_and_the_workers_bring_gpus(kind):
    doc = documents()[kind]
    spec = doc["spec"] if kind == "RayCluster" else doc["spec"]["rayClusterSpec"]
    claim = documents()["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every pod reads and writes the checkpoints
    for pod in _pods(spec):
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        assert volumes[mounts["/mnt/results"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    worker = spec["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]
    assert worker["limits"]["nvidia.com/gpu"] == "1" and spec["headGroupSpec"]["rayStartParams"]["num-gpus"] == "0"
    assert spec["rayVersion"] == __import__("ray").__version__  # the image's Ray is the project's


def test_the_job_runs_the_search_as_cluster_yaml_does_and_resumes_when_resubmitted():
    job = documents()["RayJob"]["spec"]
    script = shlex.split(job["entrypoint"])[2]  # bash -c '<script>'
    args = shlex.split(script.split("$(")[0])
    assert args[:3] == ["tune-growth", "search", "h1"]
    flags = dict(zip(args[3::2], args[4::2]))
    assert flags["--storage"] == "/mnt/results" and flags["--gpus-per-trial"] == "0.25" and flags["--address"] == "auto"
    assert f"test -d {flags['--storage']}/{flags['--name']} && echo --resume" in script  # a retried job resumes
    assert job["backoffLimit"] >= 1 and job["shutdownAfterJobFinishes"] is True
    from tune_growth.search.__main__ import parser
    parsed = parser().parse_args(args[2:])  # the search's own parser accepts the flags
    assert parsed.gpus_per_trial == "0.25" and str(parsed.storage) == "/mnt/results"
