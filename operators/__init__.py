"""Scaling of the focus workers on the focus-job backlog: a kopf operator for Kubernetes
(``FocusingPool``, ``eoport.dev/v1alpha1``) and the same policy for local processes.

Pure core (no I/O): :mod:`.backlog` (offset samples, history, rates, stuck partitions),
:mod:`.plan` (acquisition plan), :mod:`.pool` (scaling parameters), :mod:`.throughput`
(workers' focusing rate), :mod:`.policy` (:func:`~operators.policy.decide`),
:mod:`.scaler` (the policy's memory), :mod:`.crd` (the custom resource's spec),
:mod:`.workload` (the worker Deployment), :mod:`.status` (status and conditions).

I/O: :mod:`.measure` (lag on the broker), :mod:`.scrape` (workers' ``/metrics``),
:mod:`._kube` (minimal Kubernetes client), :mod:`.handlers` (kopf handlers),
:mod:`.operator` (``run_operator``), :mod:`.local` (:class:`~operators.local.LocalScaler`),
:mod:`.metrics` (the operator's own Prometheus metrics). Manifests: ``manifests/``.
"""
