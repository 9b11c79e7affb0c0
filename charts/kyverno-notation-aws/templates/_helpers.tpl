{{/* vim: set filetype=mustache: */}}

{{/* Names. The original chart's helpers, kept so that an upgrade from it keeps its object names. */}}
{{- define "kna.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kna.fullname" -}}
{{- if .Values.fullnameOverride -}}
  {{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
  {{- $name := default .Chart.Name .Values.nameOverride -}}
  {{- if contains $name .Release.Name -}}
    {{- .Release.Name | trunc 63 | trimSuffix "-" -}}
  {{- else -}}
    {{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{- define "kna.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "kna.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The verifier's Service: service.name, else the original chart's "<fullname>-svc". */}}
{{- define "kna.serviceName" -}}
{{- default (printf "%s-svc" (include "kna.fullname" .) | trunc 63 | trimSuffix "-") .Values.service.name -}}
{{- end -}}

{{/* What the operator prefixes its ConfigMaps and Lease with (--name): <name>-bundle, <name>-ca, <name>-operator. */}}
{{- define "kna.operatorName" -}}
{{- include "kna.fullname" . | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "kna.bundleConfigMap" -}}
{{- printf "%s-bundle" (include "kna.operatorName" .) -}}
{{- end -}}

{{- define "kna.caConfigMap" -}}
{{- printf "%s-ca" (include "kna.operatorName" .) -}}
{{- end -}}

{{/* The operator's Secrets, named as the original names them: <service>.<namespace>.svc.tls-{pair,ca}. */}}
{{- define "kna.tlsPairSecret" -}}
{{- printf "%s.%s.svc.tls-pair" (include "kna.serviceName" .) (include "kna.namespace" .) -}}
{{- end -}}

{{- define "kna.pluginConfigMap" -}}
{{- default (include "kna.name" .) .Values.configMap.name -}}
{{- end -}}

{{/* serviceAccount.* is the original chart's one ServiceAccount: it is the verifier's now (it calls ECR and AWS Signer). */}}
{{- define "kna.verifier.serviceAccountName" -}}
{{- default (include "kna.name" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "kna.operator.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "kna.fullname" .) | trunc 63 | trimSuffix "-") .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "kna.verifier.deploymentName" -}}
{{- printf "%s-verifier" (include "kna.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kna.operator.deploymentName" -}}
{{- printf "%s-operator" (include "kna.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kna.redis.name" -}}
{{- printf "%s-redis" (include "kna.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kna.hmacSecret" -}}
{{- default (printf "%s-cache-hmac" (include "kna.fullname" .) | trunc 63 | trimSuffix "-") .Values.redis.hmacKey.existingSecret -}}
{{- end -}}

{{- define "kna.image" -}}
{{- $repository := .Values.image.repository -}}
{{- if .Values.image.registry -}}{{- $repository = printf "%s/%s" .Values.image.registry .Values.image.repository -}}{{- end -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion (toString (default "" .Values.image.tag))) -}}
{{- end -}}

{{/* Labels: the original chart's (part-of, instance) plus the recommended ones; component tells the two deployments apart. */}}
{{- define "kna.matchLabels" -}}
app.kubernetes.io/part-of: {{ include "kna.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kna.labels" -}}
{{ include "kna.matchLabels" . }}
app.kubernetes.io/name: {{ include "kna.name" . }}
helm.sh/chart: {{ include "kna.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.Version | replace "+" "_" | quote }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kna.selector" -}}
{{ include "kna.matchLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Kyverno's callers, as usernames: kyverno.allowedUsers, else every kyverno.serviceAccounts in kyverno.namespace. */}}
{{- define "kna.allowedUsers" -}}
{{- $users := list -}}
{{- if .Values.verifier.auth.allowedUsers -}}
{{- $users = .Values.verifier.auth.allowedUsers -}}
{{- else -}}
{{- range .Values.kyverno.serviceAccounts -}}
{{- $users = append $users (printf "system:serviceaccount:%s:%s" $.Values.kyverno.namespace .) -}}
{{- end -}}
{{- end -}}
{{- join "," $users -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for every container of the chart. */}}
{{- define "kna.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kna.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsUser }}
fsGroup: {{ .runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Spread over nodes and zones unless the values give their own constraints; the pods' selector is filled in. */}}
{{- define "kna.topologySpread" -}}
{{- $constraints := .values.topologySpreadConstraints -}}
{{- if not $constraints -}}
{{- $constraints = list
  (dict "maxSkew" 1 "topologyKey" "kubernetes.io/hostname" "whenUnsatisfiable" "ScheduleAnyway")
  (dict "maxSkew" 1 "topologyKey" "topology.kubernetes.io/zone" "whenUnsatisfiable" "ScheduleAnyway") -}}
{{- end -}}
{{- $selector := dict "labelSelector" (dict "matchLabels" (include "kna.selector" .ctx | fromYaml)) -}}
{{- $out := list -}}
{{- range $constraints -}}
{{- $out = append $out (merge (deepCopy $selector) .) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "kna.scheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  {{- include "kna.topologySpread" (dict "values" .values "ctx" (dict "root" .root "component" .component)) | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "kna.dockerconfigjson" -}}
{{- printf "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}" .registry (printf "%s:%s" .username .password | b64enc) | b64enc -}}
{{- end -}}

{{/* A Secret value generated once and kept: the live Secret's, else a new random one. */}}
{{- define "kna.keptRandom" -}}
{{- $existing := lookup "v1" "Secret" .namespace .name -}}
{{- if and $existing $existing.data (index $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum .length | b64enc -}}
{{- end -}}
{{- end -}}
