"""The benchmark keeps working: its quick mode runs every measurement on tiny sizes.

No time is asserted here; the real numbers come from running it by hand.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("throughput_vs_plain_fit", "fraction_of_ceiling", "ui_stall_p99_ms", "ui_stall_max_ms",
        "window_shown_s", "tensorflow_ready_s", "redraw_500k_ms", "rss_growth_20_runs_mb",
        "small_run_vs_hand_loop", "small_first_report_vs_hand_loop", "small_second_run_first_report_s",
        "small_epoch_vs_hand_loop", "small_prepared_first_report_s")


def test_quick_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    for key in KEYS:
        assert isinstance(results[key], float) and results[key] == results[key], key  # a number, not NaN
    assert results["chart_points"]["epoch"] >= 1  # the window's charts received the run
    assert "| `throughput_vs_plain_fit` |" in done.stdout
    assert "| `small_first_report_vs_hand_loop` |" in done.stdout
    # the runner and the hand-written loop trained the same network to a comparable loss
    small = results["small_network"]["runs"]
    assert all(run["final_val_loss"] < 1.0 for run in small["runner_fresh"] + small["hand_fresh"])


def test_diagnosis_benchmark_detects_and_repairs_a_faulty_configuration(tmp_path):
    out = tmp_path / "diagnosis.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "diagnosis.py"), "--only", "high-dropout",
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert (summary["faulty"], summary["healthy"]) == (1, 0)
    assert summary["detected_share"] == 1.0 and summary["false_alarms"] == 0
    assert summary["repaired_share"] == 1.0  # capping the dropout at 0.3 cures it
    assert 0 < summary["cost_fraction"] < 1
    assert "| `high_dropout` | 1 | 1 | 1 of 1 | 1 of 1 |" in done.stdout
