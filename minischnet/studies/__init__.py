"""The studies: the scripts that made each shipped result, run as
``python -m minischnet.studies.NAME``.

    c20_rpmd          Fig. 6 right: RPMD of C20 at 300 K with P = 1 and 8 beads (resumable)
    learning_curve    Fig. 6 left: test MAE of U0 on QM9 against N, DTNN and SchNet (resumable)
    variants          SchNet's implementation choices, each trained with several seeds
    small_n_tuning    batch size, learning rate, features at N = 1,000, chosen on validation
    fit_gap           training against test error of trained QM9 runs (why small N is hard)
    partition_study   Fig. 4 asked of many models, checked against GFN2-xTB
    make_figures      the thesis summary's figures from the shipped models and results

A study may use anything in the library; the library never imports a study. What a tutorial
needs from a study's results is read through ``minischnet.results``. The data sets are made by
the recipes in ``minischnet.data`` (``make_c20``, ``make_materials``).
"""
