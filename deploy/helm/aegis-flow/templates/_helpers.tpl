{{/* Labels on every object of the chart. */}}
{{- define "aegis-flow.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: Helm
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* The CA bootstrap's ServiceAccount, Role and RoleBinding name. */}}
{{- define "aegis-flow.bootstrapName" -}}
{{ .Release.Name }}-ca-bootstrap
{{- end }}
