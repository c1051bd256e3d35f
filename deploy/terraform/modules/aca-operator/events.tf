# The watch (docs/controller.md, "The watch"): Event Grid's system topic of the Azure subscription
# delivers Microsoft.App write, delete and action events to a Storage queue the operator reads with
# its own identity (`run --events-queue`). Events only trigger passes; the interval stays the
# backstop when they lag or stop (docs/operations.md, "When events lag or stop").
#
# Azure allows one system topic per source: if the subscription already has one of type
# Microsoft.Resources.Subscriptions, set `events.system_topic_name` to it instead of creating one.

variable "events" {
  description = "Deliver resource events to a queue in this storage account and run the operator with --events-queue. null: no watch (passes on the interval only)."
  type = object({
    # The storage account that holds the queue (its resource id).
    storage_account_id = string
    queue_name         = optional(string, "aca-operator-events")
    # An existing system topic on the subscription (in var.resource_group_name); empty: create one.
    system_topic_name = optional(string, "")
  })
  default = null
}

data "azurerm_subscription" "current" {}

locals {
  events                = var.events != null
  events_account_name   = local.events ? element(split("/", var.events.storage_account_id), 8) : ""
  events_queue_url      = local.events ? "https://${local.events_account_name}.queue.core.windows.net/${var.events.queue_name}" : ""
  events_create_topic   = local.events && try(var.events.system_topic_name, "") == ""
  events_topic_name     = local.events_create_topic ? "egst-${var.name}-subscription" : try(var.events.system_topic_name, "")
  events_queue_scope_id = local.events ? "${var.events.storage_account_id}/queueServices/default/queues/${var.events.queue_name}" : ""
}

resource "azurerm_storage_queue" "events" {
  count                = local.events ? 1 : 0
  name                 = var.events.queue_name
  storage_account_name = local.events_account_name
}

resource "azurerm_eventgrid_system_topic" "subscription" {
  count               = local.events_create_topic ? 1 : 0
  name                = local.events_topic_name
  resource_group_name = var.resource_group_name
  location            = "global"
  source_resource_id  = data.azurerm_subscription.current.id
  topic_type          = "Microsoft.Resources.Subscriptions"
  tags                = var.tags

  identity {
    type = "SystemAssigned"
  }
}

# The topic delivers with its own identity (no storage keys): it may send messages to the queue.
resource "azurerm_role_assignment" "events_sender" {
  count                = local.events_create_topic ? 1 : 0
  scope                = local.events_queue_scope_id
  role_definition_name = "Storage Queue Data Message Sender"
  principal_id         = azurerm_eventgrid_system_topic.subscription[0].identity[0].principal_id
  depends_on           = [azurerm_storage_queue.events]
}

resource "azurerm_eventgrid_system_topic_event_subscription" "container_apps" {
  count                 = local.events ? 1 : 0
  name                  = "${var.name}-container-apps"
  system_topic          = local.events_topic_name
  resource_group_name   = var.resource_group_name
  event_delivery_schema = "EventGridSchema"

  included_event_types = [
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
  ]

  # Container apps, environments and their storages only; not the reads ARM reports as actions
  # (listSecrets: every pass makes some, and the operator ignores them anyway).
  advanced_filter {
    string_contains {
      key    = "subject"
      values = ["/providers/Microsoft.App/"]
    }
    string_not_contains {
      key    = "data.operationName"
      values = ["/list"]
    }
  }

  delivery_identity {
    type = "SystemAssigned"
  }

  storage_queue_endpoint {
    storage_account_id = var.events.storage_account_id
    queue_name         = var.events.queue_name
    # Older events are worthless once a resync has run; the default (7 days) only fills the queue.
    queue_message_time_to_live_in_seconds = 3600
  }

  # Event Grid retries up to 24 h by default; an hour is plenty (the interval is the backstop).
  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 60
  }

  depends_on = [azurerm_role_assignment.events_sender, azurerm_eventgrid_system_topic.subscription]
}

# The operator reads and deletes messages of its queue, nothing else in the account.
resource "azurerm_role_assignment" "events_processor" {
  count                = local.events ? 1 : 0
  scope                = local.events_queue_scope_id
  role_definition_name = "Storage Queue Data Message Processor"
  principal_id         = azurerm_user_assigned_identity.operator.principal_id
  depends_on           = [azurerm_storage_queue.events]
}
