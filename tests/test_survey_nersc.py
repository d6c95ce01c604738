"""The shipped dask-jobqueue configuration for NERSC: loadable, and what SLURMCluster expects."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from cosmicbook.core.batch import NERSC_CONFIG

#: The keys of dask-jobqueue's ``jobqueue.slurm`` configuration (dask-jobqueue 0.9's
#: jobqueue.yaml); SLURMCluster reads its defaults from these.
SLURM_KEYS = {
    "name", "cores", "memory", "processes", "python", "interface", "death-timeout",
    "local-directory", "shared-temp-directory", "extra", "worker-command", "worker-extra-args",
    "shebang", "queue", "account", "walltime", "env-extra", "job-script-prologue", "job-cpu",
    "job-mem", "job-extra", "job-extra-directives", "job-directives-skip", "log-directory",
    "scheduler-options",
}
HAS_JOBQUEUE = importlib.util.find_spec("dask_jobqueue") is not None


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(NERSC_CONFIG.read_text())


def test_the_file_ships_with_the_package():
    assert NERSC_CONFIG.is_file()
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert "core/data/*.yaml" in pyproject


def test_keys_are_slurmcluster_keys(config):
    assert list(config) == ["jobqueue"] and list(config["jobqueue"]) == ["slurm"]
    slurm = config["jobqueue"]["slurm"]
    assert set(slurm) <= SLURM_KEYS, set(slurm) - SLURM_KEYS
    # what a Perlmutter CPU job needs
    assert slurm["cores"] == 128 and slurm["processes"] >= 1
    assert slurm["cores"] % slurm["processes"] == 0
    assert str(slurm["memory"]).endswith("GB") and slurm["walltime"].count(":") == 2
    assert "--constraint=cpu" in slurm["job-extra-directives"]
    assert any(d.startswith("--qos=") for d in slurm["job-extra-directives"])
    assert slurm["interface"] == "hsn0"


def test_dask_config_reads_it(config):
    dask = pytest.importorskip("dask")
    with dask.config.set(config):
        assert dask.config.get("jobqueue.slurm.cores") == 128
        assert dask.config.get("jobqueue.slurm.job-extra-directives")[0] == "--constraint=cpu"


@pytest.mark.skipif(not HAS_JOBQUEUE, reason="dask-jobqueue is not installed")
def test_slurmcluster_renders_the_job_script(config):
    """Build a SLURMCluster from the file (no job is submitted) and read its batch script."""
    import dask
    import dask_jobqueue

    defaults = yaml.safe_load((Path(dask_jobqueue.__file__).with_name("jobqueue.yaml"))
                              .read_text())["jobqueue"]["slurm"]
    assert set(config["jobqueue"]["slurm"]) <= set(defaults)
    local = {**config["jobqueue"]["slurm"], "interface": None}  # no hsn0 on this machine
    # leaf by leaf: dask.config.set of a nested dict would replace dask-jobqueue's defaults
    with dask.config.set({f"jobqueue.slurm.{key}": value for key, value in local.items()}):
        cluster = dask_jobqueue.SLURMCluster(account="m0000",
                                             scheduler_options={"dashboard_address": ":0"})
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    for line in ("#SBATCH -A m0000", "#SBATCH --cpus-per-task=128", "#SBATCH -t 01:00:00",
                 "#SBATCH --constraint=cpu", "#SBATCH --qos=regular", "module load python"):
        assert line in script, script
    assert "--nworkers 32" in script and "--nthreads 4" in script
    assert "\npython -m distributed.cli.dask_worker" in script
