{{- define "soulbox.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "soulbox.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "soulbox.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Secret the server's key and store URL come from. */}}
{{- define "soulbox.secretName" -}}
{{- .Values.existingSecret | default (include "soulbox.fullname" .) -}}
{{- end -}}


{{/* The pods the API Service and the PodDisruptionBudget select: the
embedded server, or the control-plane replicas (not the nodes). */}}
{{- define "soulbox.serverSelector" -}}
{{ include "soulbox.selector" . }}
{{- if eq .Values.mode "cluster" }}
app.kubernetes.io/component: control-plane
{{- end }}
{{- end -}}

{{/* The names nodes dial the control planes' node listener by. */}}
{{- define "soulbox.nodesService" -}}
{{- printf "%s-nodes" (include "soulbox.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
