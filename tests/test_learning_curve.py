"""The learning-curve runner's CSV: runners started side by side must not lose each other's rows."""

import multiprocessing as mp

from minischnet.train.learning_curve import FIELDS, record_row, recorded


def _write_many(csv_path, model, n):
    for T in range(n):
        row = dict.fromkeys(FIELDS, "")
        row.update(model=model, T=T, N=1000, test_mae_eV=0.1 * T)
        record_row(csv_path, f"{model}_T{T}_N1000", row)


def test_concurrent_runners_keep_every_row(tmp_path):
    csv_path = tmp_path / "learning_curve.csv"
    ctx = mp.get_context("fork")
    workers = [ctx.Process(target=_write_many, args=(csv_path, m, 40)) for m in ("schnet", "dtnn", "other")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    rows = recorded(csv_path)
    assert len(rows) == 3 * 40  # a read-modify-write without the lock drops rows here
    assert float(rows["dtnn_T7_N1000"]["test_mae_eV"]) == 0.1 * 7
