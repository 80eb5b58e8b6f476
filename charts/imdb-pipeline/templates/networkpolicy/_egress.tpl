{{/* Egress rules shared by the job pods: cluster DNS and the warehouse's PostgreSQL port. */}}
{{- define "imdb-pipeline.egressToDnsAndWarehouse" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicies.dnsNamespace }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Release.Namespace }}
      podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "imdb-pipeline.warehouseName" . }}
  ports:
    - protocol: TCP
      port: 5432
{{- end -}}
