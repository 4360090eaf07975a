{{/* Labels shared by every object of the release. */}}
{{- define "billing.labels" -}}
app.kubernetes.io/part-of: billing
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
billing/environment: {{ .Values.environment }}
{{- end -}}

{{/* The BILLING_* environment every container of the release gets. */}}
{{- define "billing.env" -}}
- name: BILLING_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: BILLING_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.secretName }}
      key: {{ .Values.database.secretKey }}
- name: BILLING_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: BILLING_TOPIC_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: BILLING_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: BILLING_HTTP_HOST
  value: "0.0.0.0"
- name: BILLING_ALLOW_PUBLIC_BIND
  value: "true"
{{- end -}}

{{- define "billing.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
