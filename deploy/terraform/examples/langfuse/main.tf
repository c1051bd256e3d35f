# The migration plan's layout, kept by aca-operator. The dedicated ClickHouse app of the plan's
# `clickhouse_dedicated.tf` is not Terraform here: it is declared in the operator's YAML
# (deploy/examples/langfuse.yaml), which creates it safely and keeps it a singleton.
#
# Existing resources of the plan (environment, storage account, share, Langfuse app) stay in your
# Terraform; remove the ClickHouse sidecar and its volume from `container_apps.tf` only after the
# operator's cutover, or add `lifecycle { ignore_changes = [template] }` to the Langfuse app so
# Terraform and the operator do not fight over it.

provider "azurerm" {
  features {}
}

variable "resource_group_name" {
  type    = string
  default = "rg-langfuse"
}

variable "location" {
  type    = string
  default = "japaneast"
}

variable "operator_image" {
  type = string
}

data "azurerm_resource_group" "langfuse" {
  name = var.resource_group_name
}

data "azurerm_container_app_environment" "langfuse" {
  name                = "cae-langfuse"
  resource_group_name = var.resource_group_name
}

module "aca_operator" {
  source                       = "../../modules/aca-operator"
  resource_group_name          = var.resource_group_name
  location                     = var.location
  container_app_environment_id = data.azurerm_container_app_environment.langfuse.id
  image                        = var.operator_image
  desired_state_yaml           = file("${path.module}/../../../examples/langfuse.yaml")
  managed_scopes               = [data.azurerm_resource_group.langfuse.id]
  tags = {
    application = "langfuse"
  }
}
