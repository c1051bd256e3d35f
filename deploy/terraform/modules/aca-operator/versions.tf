terraform {
  required_version = ">= 1.5"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      # 4.x: azurerm_eventgrid_system_topic's `source_resource_id` (events.tf).
      version = ">= 4.0"
    }
  }
}
