{{/*
Helpers for the imdb-pipeline chart. Object names that the DAG, dbt and the Airflow chart's
values refer to are listed in docs/contracts.md; they live here once.
*/}}

{{- define "imdb-pipeline.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "imdb-pipeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fixed names (docs/contracts.md). */}}
{{- define "imdb-pipeline.warehouseName" -}}imdb-warehouse{{- end -}}
{{- define "imdb-pipeline.metadataName" -}}airflow-metadata{{- end -}}
{{- define "imdb-pipeline.jobServiceAccount" -}}imdb-job{{- end -}}
{{- define "imdb-pipeline.pipelineConfigMap" -}}imdb-pipeline-config{{- end -}}
{{- define "imdb-pipeline.apiServerConfigMap" -}}imdb-airflow-api-server-config{{- end -}}
{{- define "imdb-pipeline.metadataConnectionSecret" -}}airflow-metadata-connection{{- end -}}
{{- define "imdb-pipeline.podLauncherName" -}}imdb-pipeline-pod-launcher{{- end -}}

{{/* The Secret with the warehouse owner's credentials: generated or existing. */}}
{{- define "imdb-pipeline.warehouseSecret" -}}
{{- .Values.warehouse.existingSecret | default (printf "%s-app" (include "imdb-pipeline.warehouseName" .)) -}}
{{- end -}}

{{- define "imdb-pipeline.adminSecret" -}}
{{- .Values.airflow.admin.existingSecret | default "imdb-airflow-admin" -}}
{{- end -}}

{{- define "imdb-pipeline.keysSecret" -}}
{{- .Values.airflow.existingKeysSecret | default "imdb-airflow-secrets" -}}
{{- end -}}

{{/* Namespaces: job pods and Airflow default to the release namespace. */}}
{{- define "imdb-pipeline.jobsNamespace" -}}
{{- .Values.jobs.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* Airflow shares the release namespace: it reads this chart's Secrets by name. */}}
{{- define "imdb-pipeline.airflowNamespace" -}}
{{- .Release.Namespace -}}
{{- end -}}

{{/* True ("true") when job pods live in a namespace of their own. */}}
{{- define "imdb-pipeline.dedicatedJobsNamespace" -}}
{{- if ne (include "imdb-pipeline.jobsNamespace" .) .Release.Namespace -}}true{{- end -}}
{{- end -}}

{{/* Host of the warehouse's read-write service, resolvable from any namespace. */}}
{{- define "imdb-pipeline.warehouseHost" -}}
{{- printf "%s-rw.%s.svc" (include "imdb-pipeline.warehouseName" .) .Release.Namespace -}}
{{- end -}}

{{/* Standard labels; pass a dict with "ctx" (the root context) and "component". */}}
{{- define "imdb-pipeline.labels" -}}
helm.sh/chart: {{ include "imdb-pipeline.chart" .ctx }}
app.kubernetes.io/name: {{ include "imdb-pipeline.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: imdb-pipeline
app.kubernetes.io/component: {{ .component }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* An image reference: repository, then @digest when given, else :tag. */}}
{{- define "imdb-pipeline.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{- define "imdb-pipeline.postgresImage" -}}
{{- printf "%s:%s" .Values.images.postgres.repository .Values.images.postgres.tag -}}
{{- end -}}

{{/*
A password that is generated once and then kept: reuse the key of the live Secret when it
exists (`lookup`), else a fresh random one. `helm template` has no cluster, so it always
generates. Pass a dict with "namespace", "name", "key".
*/}}
{{- define "imdb-pipeline.stableSecretValue" -}}
{{- $live := lookup "v1" "Secret" .namespace .name -}}
{{- if and $live $live.data (hasKey $live.data .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}

{{/* Annotations that keep a generated credential when the release is uninstalled: the
     database volumes outlive the release, and so must the passwords that open them. */}}
{{- define "imdb-pipeline.keepAnnotations" -}}
helm.sh/resource-policy: keep
{{- end -}}

{{/* Restricted-profile security contexts for the pods this chart runs itself. */}}
{{- define "imdb-pipeline.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.jobs.runAsUser }}
runAsGroup: {{ .Values.jobs.runAsUser }}
fsGroup: {{ .Values.jobs.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "imdb-pipeline.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Selector labels of the job pods the DAG starts (loader and dbt). */}}
{{- define "imdb-pipeline.jobPodSelector" -}}
matchLabels:
  app.kubernetes.io/part-of: imdb-pipeline
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values:
      - loader
      - dbt
{{- end -}}
