"""The paper grid on a SLURM cluster: `python -m bnonly.slurm submit` sends one array task per grid cell that
DVC does not have yet (planned in cells.py, run by task.py, submitted through submitit by submit.py), and
`python -m bnonly.slurm status` reports each cell (status.py). docs/pipeline.md, "Scaling out", has the
manual."""
