{{/*
Shared names, labels and per-service facts. Helpers that concern one
service take (dict "root" $ "svc" "<service>").
*/}}

{{/* The services, in start order; the gateway owns no database. */}}
{{- define "crm.services" -}}
["customers","opportunities","complaints","scheduling","gateway"]
{{- end }}

{{/* Whom each service calls (its --<peer>_address flags, see each main.cc). */}}
{{- define "crm.peers" -}}
{"customers":[],"opportunities":["customers"],"complaints":["customers"],"scheduling":["customers","opportunities","complaints"],"gateway":["customers","opportunities","complaints","scheduling"]}
{{- end }}

{{/* Services with a --service_token_file flag (event feeds, background lookups). */}}
{{- define "crm.serviceTokenUsers" -}}
["opportunities","complaints","scheduling"]
{{- end }}

{{/* Where the mounted Secrets appear in every container. */}}
{{- define "crm.secretsDir" -}}/etc/crm/secrets{{- end }}

{{- define "crm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<svc>", short enough for "-headless" and "-migrate" suffixes. */}}
{{- define "crm.componentName" -}}
{{- printf "%s-%s" (include "crm.fullname" .root) .svc | trunc 54 | trimSuffix "-" }}
{{- end }}

{{- define "crm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "crm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end }}

{{- define "crm.labels" -}}
{{ include "crm.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: crm
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the release without a component (the ServiceAccount). */}}
{{- define "crm.releaseLabels" -}}
app.kubernetes.io/name: {{ include "crm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: crm
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crm.image" -}}
{{- $v := index .root.Values .svc }}
{{- $tag := $v.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" .root.Values.image.registry $v.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" $v.image.repository $tag }}
{{- end }}
{{- end }}

{{/* How a service reaches a peer: (dict "root" $ "peer" "<service>"). */}}
{{- define "crm.peerAddress" -}}
{{- $name := include "crm.componentName" (dict "root" .root "svc" .peer) }}
{{- $port := int (index .root.Values .peer).port }}
{{- if eq .root.Values.peers.addressStyle "headless" }}
{{- printf "dns:///%s-headless:%d" $name $port }}
{{- else }}
{{- printf "%s:%d" $name $port }}
{{- end }}
{{- end }}

{{/* The Secret with the service's tls.crt, tls.key and ca.crt. */}}
{{- define "crm.tlsSecretName" -}}
{{- index .root.Values.tls.serviceSecrets .svc | default .root.Values.tls.secretName }}
{{- end }}

{{/* TLS is on for the service's pods; never for the migration Job, which neither serves nor calls. */}}
{{- define "crm.tlsOn" -}}
{{- if and .root.Values.tls.enabled (not .migration) }}true{{ end }}
{{- end }}

{{/*
The CRM_* configuration of a service as JSON (flag --x is CRM_X). Used by the
ConfigMap and, inline, by the migration Job (a pre-install hook runs before
the ConfigMap exists; its context has "migration" true). The chart's own keys
win over values' env.
*/}}
{{- define "crm.env" -}}
{{- $root := .root }}
{{- $v := index $root.Values .svc }}
{{- $dir := include "crm.secretsDir" $root }}
{{- $env := dict
      "CRM_LISTEN_ADDRESS" (printf "0.0.0.0:%d" (int $v.port))
      "CRM_LOG_LEVEL" $root.Values.logLevel
      "CRM_SHUTDOWN_GRACE_SECONDS" (toString $root.Values.shutdown.graceSeconds)
      "CRM_SHUTDOWN_DRAIN_SECONDS" (toString $root.Values.shutdown.drainSeconds)
      "CRM_MAX_CONNECTION_AGE_SECONDS" (toString $root.Values.peers.maxConnectionAgeSeconds)
      "CRM_JWT_ISSUER" $root.Values.auth.issuer
      "CRM_JWT_AUDIENCE" $root.Values.auth.audience
      "CRM_PAGE_TOKEN_KEY_FILE" (printf "%s/page-token-key" $dir) }}
{{- /* During a key rollover both keys verify: a comma-separated list, the main key first. */}}
{{- $jwtFiles := printf "%s/jwt-key" $dir }}
{{- if $root.Values.auth.rolloverKey }}
{{- $jwtFiles = printf "%s,%s/jwt-key-rollover" $jwtFiles $dir }}
{{- end }}
{{- if eq $root.Values.auth.algorithm "RS256" }}
{{- $_ := set $env "CRM_JWT_RS256_PUBLIC_KEY_FILE" $jwtFiles }}
{{- else }}
{{- $_ := set $env "CRM_JWT_HS256_KEY_FILE" $jwtFiles }}
{{- end }}
{{- if and $root.Values.auth.serviceTokenSecret.name (has .svc (include "crm.serviceTokenUsers" $root | fromJsonArray)) }}
{{- $_ := set $env "CRM_SERVICE_TOKEN_FILE" (printf "%s/service-token" $dir) }}
{{- end }}
{{- if $v.database }}
{{- $_ := set $env "CRM_DB_HOST" $root.Values.database.host }}
{{- $_ := set $env "CRM_DB_PORT" (toString $root.Values.database.port) }}
{{- $_ := set $env "CRM_DB_USER" $v.database.user }}
{{- $_ := set $env "CRM_DB_NAME" $v.database.name }}
{{- $_ := set $env "CRM_DB_PASSWORD_FILE" (printf "%s/db-password" $dir) }}
{{- $_ := set $env "CRM_DB_POOL_SIZE" (toString $v.dbPoolSize) }}
{{- end }}
{{- range $peer := index (include "crm.peers" $root | fromJson) .svc }}
{{- $_ := set $env (printf "CRM_%s_ADDRESS" (upper $peer)) (include "crm.peerAddress" (dict "root" $root "peer" $peer)) }}
{{- end }}
{{- if $v.httpPort }}
{{- $_ := set $env "CRM_HTTP_LISTEN_ADDRESS" (printf "0.0.0.0:%d" (int $v.httpPort)) }}
{{- end }}
{{- if include "crm.tlsOn" . }}
{{- /* Every listener speaks TLS and every outgoing channel checks the peer against ca.crt; the probes get a plaintext health-only port. */}}
{{- $_ := set $env "CRM_TLS_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $env "CRM_TLS_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- $_ := set $env "CRM_TLS_CA_FILE" (printf "%s/ca.crt" $dir) }}
{{- $_ := set $env "CRM_HEALTH_PORT" (toString $root.Values.probes.healthPort) }}
{{- if $root.Values.tls.requireClientCerts }}
{{- /* The gateway's ports are public: its clients need no certificate. */}}
{{- if ne .svc "gateway" }}
{{- $_ := set $env "CRM_TLS_CLIENT_CA_FILE" (printf "%s/ca.crt" $dir) }}
{{- end }}
{{- if index (include "crm.peers" $root | fromJson) .svc }}
{{- $_ := set $env "CRM_TLS_CLIENT_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $env "CRM_TLS_CLIENT_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- end }}
{{- end }}
{{- end }}
{{- $all := merge $env ($v.env | default dict) ($root.Values.env | default dict) }}
{{- range $k, $val := $all }}
{{- $_ := set $all $k (toString $val) }}
{{- end }}
{{- toJson $all }}
{{- end }}

{{/* The projected volume with every Secret the service reads, as files. */}}
{{- define "crm.secretsVolume" -}}
{{- $root := .root }}
{{- $v := index $root.Values .svc -}}
- name: secrets
  projected:
    # 0440: readable by the container's group (fsGroup), never world.
    defaultMode: 288
    sources:
      - secret:
          name: {{ $root.Values.auth.keySecret.name }}
          items:
            - {key: {{ $root.Values.auth.keySecret.key | quote }}, path: jwt-key}
            {{- with $root.Values.auth.rolloverKey }}
            - {key: {{ . | quote }}, path: jwt-key-rollover}
            {{- end }}
      - secret:
          name: {{ $root.Values.auth.pageTokenSecret.name }}
          items: [{key: {{ $root.Values.auth.pageTokenSecret.key | quote }}, path: page-token-key}]
      {{- if $v.database }}
      - secret:
          name: {{ $v.database.passwordSecret.name }}
          items: [{key: {{ $v.database.passwordSecret.key | quote }}, path: db-password}]
      {{- end }}
      {{- if and $root.Values.auth.serviceTokenSecret.name (has .svc (include "crm.serviceTokenUsers" $root | fromJsonArray)) }}
      - secret:
          name: {{ $root.Values.auth.serviceTokenSecret.name }}
          items: [{key: {{ $root.Values.auth.serviceTokenSecret.key | quote }}, path: service-token}]
      {{- end }}
      {{- if include "crm.tlsOn" . }}
      - secret:
          name: {{ include "crm.tlsSecretName" . }}
          items:
            - {key: tls.crt, path: tls.crt}
            - {key: tls.key, path: tls.key}
            - {key: ca.crt, path: ca.crt}
      {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}

{{- define "crm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.security.runAsUser }}
runAsGroup: {{ .Values.security.runAsUser }}
fsGroup: {{ .Values.security.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "crm.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.security.runAsUser }}
runAsGroup: {{ .Values.security.runAsUser }}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "crm.volumeMounts" -}}
- name: secrets
  mountPath: {{ include "crm.secretsDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}
