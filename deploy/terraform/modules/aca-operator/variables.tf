variable "name" {
  description = "Name of the operator's container app (and prefix of its identity and role)."
  type        = string
  default     = "aca-operator"
}

variable "resource_group_name" {
  description = "Resource group the operator app lives in (usually the stack's)."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "container_app_environment_id" {
  description = "The existing Container Apps environment the operator runs in (the one it keeps)."
  type        = string
}

variable "image" {
  description = "The aca-operator image (built from deploy/Dockerfile)."
  type        = string
}

variable "desired_state_yaml" {
  description = "The desired-state YAML, delivered to the app as a secret volume file."
  type        = string
}

variable "managed_scopes" {
  description = "Resource ids the operator may manage (least privilege: the stack's resource group, and the storage account's group if different)."
  type        = list(string)
}

variable "interval" {
  description = "Overrides the stacks' reconcile interval (empty: the YAML's)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags of the created resources."
  type        = map(string)
  default     = {}
}

variable "status_token" {
  description = "Token required to read /status and the status page (given to browsers as the Basic password). Empty: they are not served, since the listener is not on loopback."
  type        = string
  default     = ""
  sensitive   = true
}

variable "status_ingress" {
  description = "Expose the listener (status page, /status, /metrics, probes) on internal ingress, reachable only from the environment's network. Needs status_token."
  type        = bool
  default     = false
}
