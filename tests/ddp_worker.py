"""Run by test_distributed.py under torchrun: train a tiny model with 2 processes (gloo)."""

import sys

import numpy as np
import torch
from test_train import student, teacher_dataset

from minischnet.train import TrainConfig, Trainer


def main(out, distributed):
    if distributed:
        torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank() if distributed else 0
    ds = teacher_dataset(10)
    model = student(
        seed=rank if distributed else 0
    )  # rank 1 starts elsewhere: the broadcast must fix it
    config = TrainConfig(rho=0.5, lr=2e-3, batch_size=5, max_epochs=3)
    Trainer(model, ds, np.arange(8), [8, 9], config, distributed=distributed).fit()
    torch.save(model.state_dict(), f"{out}/rank{rank}{'' if distributed else '_single'}.pt")
    if distributed:  # leave together: a rank that exits while another still talks to it aborts
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "distributed")
