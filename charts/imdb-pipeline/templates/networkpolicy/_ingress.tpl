{{/*
Ingress sources every CloudNativePG instance needs: its own cluster's instances (replication
and the instance manager, 5432/8000) and the operator (status on 8000, 5432 for checks).
Pass a dict with "ctx" and "cluster".
*/}}
{{- define "imdb-pipeline.cnpgOperatorIngress" -}}
- from:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ .cluster }}
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .ctx.Values.networkPolicies.operatorNamespace }}
  ports:
    - protocol: TCP
      port: 5432
    - protocol: TCP
      port: 8000
{{- end -}}

{{/* Airflow's pods (official chart labels). */}}
{{- define "imdb-pipeline.airflowPeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ include "imdb-pipeline.airflowNamespace" . }}
  podSelector:
    matchLabels:
      tier: airflow
      release: {{ .Values.airflow.releaseName }}
{{- end -}}
