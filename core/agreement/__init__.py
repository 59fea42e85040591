"""Inter-annotator agreement: kappas, Krippendorff's alpha, where annotators disagree, consolidation.

Labels live in a *label matrix*: a DataFrame indexed by item id (index name ``item_id``),
one column per annotator, each cell a label (``str``) or ``None`` when that annotator did not
label the item. :func:`to_label_matrix` builds it from a wide table (one column per
annotator) or a long one (``item_id, annotator, label``); :func:`read_label_file` reads the
file first, through :mod:`core.io` (CSV / TSV, JSON Lines or array, Parquet, gzipped or not).

Metrics and the conventions they follow:

- *Percent agreement*: Fleiss' observed agreement, the mean over items with two or more
  labels of the share of agreeing annotator pairs on that item.
- *Cohen's kappa* per annotator pair: :func:`sklearn.metrics.cohen_kappa_score` on the items
  both labelled; linear / quadratic weights when the labels are ordinal and an order is given.
- *Fleiss' kappa* (three or more annotators). Items may have different numbers of labels:
  items with fewer than two labels are left out, the observed agreement is the mean of the
  per-item agreement ``P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))`` and the chance agreement
  uses the category shares pooled over every label given. With a constant number of raters
  this is exactly Fleiss (1971).
- *Krippendorff's alpha* (nominal / ordinal / interval) from the coincidence matrix; missing
  labels are simply absent and items with one label do not count (Krippendorff 2011).
- The *overall kappa* the gate reads is Cohen's kappa with two annotators and Fleiss' kappa
  with three or more. *Per-label* kappa is the same statistic on the one-vs-rest labels.
- A kappa whose chance agreement is 1 (everyone used one single label) is 1.0 when the
  annotators agree perfectly and NaN otherwise.
- Bootstrap confidence intervals resample items with replacement (percentile method, seeded).
"""

from __future__ import annotations

from core.agreement.disputes import (
    _TIE_STATUS as _TIE_STATUS,
)
from core.agreement.disputes import (
    TIE_POLICIES as TIE_POLICIES,
)
from core.agreement.disputes import (
    Consolidation as Consolidation,
)
from core.agreement.disputes import (
    Guideline as Guideline,
)
from core.agreement.disputes import (
    TiePolicy as TiePolicy,
)
from core.agreement.disputes import (
    _with_extra as _with_extra,
)
from core.agreement.disputes import (
    adjudication_queue as adjudication_queue,
)
from core.agreement.disputes import (
    apply_consolidation as apply_consolidation,
)
from core.agreement.disputes import (
    consolidate as consolidate,
)
from core.agreement.disputes import (
    disputed_items as disputed_items,
)
from core.agreement.disputes import (
    disputed_items_csv as disputed_items_csv,
)
from core.agreement.disputes import (
    high_disagreement_labels as high_disagreement_labels,
)
from core.agreement.disputes import (
    labels_without_guidelines as labels_without_guidelines,
)
from core.agreement.disputes import (
    majority_labels as majority_labels,
)
from core.agreement.metrics import (
    LEVELS as LEVELS,
)
from core.agreement.metrics import (
    WEIGHTS as WEIGHTS,
)
from core.agreement.metrics import (
    Level as Level,
)
from core.agreement.metrics import (
    Weights as Weights,
)
from core.agreement.metrics import (
    _alpha_batch as _alpha_batch,
)
from core.agreement.metrics import (
    _alpha_categories as _alpha_categories,
)
from core.agreement.metrics import (
    _alpha_distances as _alpha_distances,
)
from core.agreement.metrics import (
    _categories as _categories,
)
from core.agreement.metrics import (
    _chance_corrected as _chance_corrected,
)
from core.agreement.metrics import (
    _check_weights as _check_weights,
)
from core.agreement.metrics import (
    _cohen_resamples as _cohen_resamples,
)
from core.agreement.metrics import (
    _counts as _counts,
)
from core.agreement.metrics import (
    _encode as _encode,
)
from core.agreement.metrics import (
    _fleiss_batch as _fleiss_batch,
)
from core.agreement.metrics import (
    _interval_values as _interval_values,
)
from core.agreement.metrics import (
    _kappa_batch as _kappa_batch,
)
from core.agreement.metrics import (
    _pair_codes as _pair_codes,
)
from core.agreement.metrics import (
    _percentile_ci as _percentile_ci,
)
from core.agreement.metrics import (
    _present as _present,
)
from core.agreement.metrics import (
    _resample_weights as _resample_weights,
)
from core.agreement.metrics import (
    _unit_coincidences as _unit_coincidences,
)
from core.agreement.metrics import (
    _weight_matrix as _weight_matrix,
)
from core.agreement.metrics import (
    bootstrap_ci as bootstrap_ci,
)
from core.agreement.metrics import (
    cohen_kappa as cohen_kappa,
)
from core.agreement.metrics import (
    fleiss_kappa as fleiss_kappa,
)
from core.agreement.metrics import (
    fleiss_kappa_from_counts as fleiss_kappa_from_counts,
)
from core.agreement.metrics import (
    krippendorff_alpha as krippendorff_alpha,
)
from core.agreement.metrics import (
    percent_agreement as percent_agreement,
)
from core.agreement.read import (
    _ANNOTATOR_NAME as _ANNOTATOR_NAME,
)
from core.agreement.read import (
    _ID_COLUMNS as _ID_COLUMNS,
)
from core.agreement.read import (
    _NOT_ANNOTATORS as _NOT_ANNOTATORS,
)
from core.agreement.read import (
    LONG_COLUMNS as LONG_COLUMNS,
)
from core.agreement.read import (
    _clean as _clean,
)
from core.agreement.read import (
    _from_long as _from_long,
)
from core.agreement.read import (
    _from_wide as _from_wide,
)
from core.agreement.read import (
    _with_id as _with_id,
)
from core.agreement.read import (
    align_to_dataset as align_to_dataset,
)
from core.agreement.read import (
    candidate_label_columns as candidate_label_columns,
)
from core.agreement.read import (
    guess_annotator_columns as guess_annotator_columns,
)
from core.agreement.read import (
    is_long as is_long,
)
from core.agreement.read import (
    label_text as label_text,
)
from core.agreement.read import (
    read_label_file as read_label_file,
)
from core.agreement.read import (
    texts_by_id as texts_by_id,
)
from core.agreement.read import (
    to_label_matrix as to_label_matrix,
)
from core.agreement.read import (
    to_long as to_long,
)
from core.agreement.report import (
    _DRIFT_MARGIN as _DRIFT_MARGIN,
)
from core.agreement.report import (
    GATE_ADVICE as GATE_ADVICE,
)
from core.agreement.report import (
    GATE_THRESHOLD as GATE_THRESHOLD,
)
from core.agreement.report import (
    AgreementConfig as AgreementConfig,
)
from core.agreement.report import (
    AgreementReport as AgreementReport,
)
from core.agreement.report import (
    ConfusedPair as ConfusedPair,
)
from core.agreement.report import (
    Gate as Gate,
)
from core.agreement.report import (
    PairKappa as PairKappa,
)
from core.agreement.report import (
    _agreement_with_rest as _agreement_with_rest,
)
from core.agreement.report import (
    _check_matrix as _check_matrix,
)
from core.agreement.report import (
    _drifting as _drifting,
)
from core.agreement.report import (
    _finite as _finite,
)
from core.agreement.report import (
    _unanimous_share as _unanimous_share,
)
from core.agreement.report import (
    annotator_agreement as annotator_agreement,
)
from core.agreement.report import (
    check_gate as check_gate,
)
from core.agreement.report import (
    compute_report as compute_report,
)
from core.agreement.report import (
    confused_pairs as confused_pairs,
)
from core.agreement.report import (
    confusion_matrix as confusion_matrix,
)
from core.agreement.report import (
    pairwise_kappas as pairwise_kappas,
)
from core.agreement.report import (
    per_label_kappa as per_label_kappa,
)
from core.agreement.store import (
    _SCHEMA as _SCHEMA,
)
from core.agreement.store import (
    GUIDELINES_KEY as GUIDELINES_KEY,
)
from core.agreement.store import (
    UPLOAD_KEY as UPLOAD_KEY,
)
from core.agreement.store import (
    load_adjudications as load_adjudications,
)
from core.agreement.store import (
    load_guidelines as load_guidelines,
)
from core.agreement.store import (
    load_uploaded_labels as load_uploaded_labels,
)
from core.agreement.store import (
    save_adjudication as save_adjudication,
)
from core.agreement.store import (
    save_guideline as save_guideline,
)
from core.agreement.store import (
    save_uploaded_labels as save_uploaded_labels,
)
