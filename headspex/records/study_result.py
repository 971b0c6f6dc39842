"""One seed of a layer-range study (:class:`StudyResult`) and its tables. It is written and read back, every number
exact and without the model, by :func:`headspex.records.write_study_seed` / :func:`headspex.records.read_study_seed`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from headspex.players import format_layer_range
from headspex.records.range_run import CEILING_DROP, RangeRun
from headspex.records.stats import paired_bootstrap


@dataclass
class StudyResult:
    """One seed of a study: its configuration, the unpruned scores and one :class:`RangeRun` per range.

    clean: {"train": {metric: value}, "test": {metric: value} (test dtype), "test_model_dtype": {metric: value}
    (the model's dtype, which the pilot uses), "test_per_question": {metric: [n_test]}}.
    """

    config: Any
    clean: dict
    ranges: list[RangeRun]
    seconds: float

    @property
    def clean_test_accuracy(self) -> float:
        return float(self.clean["test"]["accuracy"])

    def accuracy_table(self) -> pd.DataFrame:
        """Rows (layers, keep, k, method): test accuracy and log-prob (float32), true training values,
        the proxy's prediction, how the mask was found, and the method's model evaluations."""
        rows = []
        for r in self.ranges:
            label = format_layer_range(r.layers)
            for (keep, method), sel in r.selections.items():
                test, train = r.test[(keep, method)], r.train[(keep, method)]
                rows.append(dict(layers=label, keep=keep, k=sel.k, method=method,
                                 test_accuracy=float(np.mean(test["accuracy"])),
                                 test_logprob=float(np.mean(test["logprob"])),
                                 train_value=train[self.config.metric], train_accuracy=train["accuracy"],
                                 predicted=sel.objective if method == "proxyspex" else np.nan, how=sel.method,
                                 evaluations=r.evaluations.get(method, 0)))
            for keep, scores in r.random.items():
                rows.append(dict(layers=label, keep=keep, k=r.keep_k[keep], method="random",
                                 test_accuracy=float(np.mean(scores["accuracy"])),
                                 test_logprob=float(np.mean(scores["logprob"])), train_value=np.nan,
                                 train_accuracy=np.nan, predicted=np.nan,
                                 how=f"mean of {len(scores['accuracy'])} masks",
                                 evaluations=r.evaluations.get("random", 0)))
        return pd.DataFrame(rows)

    def pilot_table(self) -> pd.DataFrame:
        """Per (layers, keep): test accuracy of random k-head masks (mean, sd) and the drop from unpruned."""
        rows = []
        for r in self.ranges:
            for keep, scores in r.random.items():
                acc = scores["accuracy"]
                rows.append(dict(layers=format_layer_range(r.layers), keep=keep, k=r.keep_k[keep],
                                 random_mean=float(acc.mean()), random_sd=float(acc.std(ddof=1)),
                                 drop=self.clean.get("test_model_dtype", self.clean["test"])["accuracy"] - float(acc.mean()),
                                 n_masks=len(acc)))
        table = pd.DataFrame(rows)
        if len(table):
            table["at_ceiling"] = table.groupby("layers")["drop"].transform("max") < CEILING_DROP
        return table

    def significance_table(self, *, n_boot: int = 2000) -> pd.DataFrame:
        """Per (layers, keep, baseline, metric): paired bootstrap 95% CI over test questions of
        ProxySPEX minus the baseline."""
        rows = []
        for r in self.ranges:
            for (keep, method), scores in r.test.items():
                if method == "proxyspex" or (keep, "proxyspex") not in r.test:
                    continue
                for metric in ("accuracy", "logprob"):
                    iv = paired_bootstrap(r.test[(keep, "proxyspex")][metric], scores[metric], n_boot=n_boot,
                                          seed=self.config.seed)
                    rows.append(dict(layers=format_layer_range(r.layers), keep=keep, baseline=method, metric=metric,
                                     **iv.to_dict()))
        return pd.DataFrame(rows)

    def fit_table(self) -> pd.DataFrame:
        """Per range: the proxy's CV R^2, held-out R^2 (uniform and fixed-k masks), chosen parameters."""
        rows = []
        for r in self.ranges:
            row = dict(layers=format_layer_range(r.layers), n_players=len(r.players),
                       cv_r2=r.proxy_summary["cv_r2"], **{f"params_{k}": v for k, v in r.proxy_summary["params"].items()},
                       max_train_value=r.proxy_summary.get("max_train_value", np.nan))
            row.update({f"heldout_r2_{name if name == 'uniform' else f'{name:.0%}'}": h["r2"]
                        for name, h in r.heldout.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def energy_table(self) -> pd.DataFrame:
        """Per range and spectrum (raw, refined): linear / within / across shares (%) with bootstrap CIs,
        beside the proxy's CV R^2 and the share of variance it leaves unexplained."""
        rows = []
        for r in self.ranges:
            if r.energy is None:
                continue
            for kind, table in (("raw", r.energy.raw), ("refined", r.energy.refined)):
                row = dict(layers=format_layer_range(r.layers), spectrum=kind, cv_r2=r.proxy_summary["cv_r2"],
                           unexplained=1 - r.proxy_summary["cv_r2"])
                for name, iv in table.items():
                    row.update({name: iv.estimate, f"{name}_low": iv.low, f"{name}_high": iv.high})
                rows.append(row)
        return pd.DataFrame(rows)



def config_record(config: Any) -> dict:
    """The configuration as plain JSON values."""
    return json.loads(json.dumps(asdict(config), default=str))
