# Runs aca-operator as a Container App inside the environment it keeps: one replica, a
# user-assigned identity with a custom least-privilege role, the desired state as a secret file,
# probes on /healthz and /readyz, logs to the environment's Log Analytics workspace; optionally the
# status page behind internal ingress and a token.

locals {
  # The exact actions of the operations the client can issue (tested against the client's list).
  role_actions = jsondecode(file("${path.module}/role-actions.json"))
  run_args = concat(
    ["run", "--file", "/config/desired-state.yaml", "--listen-metrics", "0.0.0.0:9464"],
    var.interval == "" ? [] : ["--interval", var.interval],
    local.status_token ? ["--status-token-file", "/config/status-token"] : [],
    local.events ? ["--events-queue", local.events_queue_url] : [], # events.tf
  )
  # Whether a status token is set (the token itself stays sensitive).
  status_token = nonsensitive(var.status_token != "")
}

resource "azurerm_user_assigned_identity" "operator" {
  name                = "id-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_definition" "operator" {
  name              = "${var.name} (Container Apps reconciler)"
  scope             = var.managed_scopes[0]
  description       = "Read and update Container Apps, read environments and storages, snapshot file shares. No delete."
  assignable_scopes = var.managed_scopes

  permissions {
    actions     = local.role_actions
    not_actions = []
  }
}

resource "azurerm_role_assignment" "operator" {
  for_each           = toset(var.managed_scopes)
  scope              = each.value
  role_definition_id = azurerm_role_definition.operator.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.operator.principal_id
}

resource "azurerm_container_app" "operator" {
  name                         = var.name
  resource_group_name          = var.resource_group_name
  container_app_environment_id = var.container_app_environment_id
  revision_mode                = "Single"
  tags                         = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.operator.id]
  }

  secret {
    name  = "desired-state"
    value = var.desired_state_yaml
  }

  # Mounted with the other secrets under /config; /status and / need it off loopback.
  dynamic "secret" {
    for_each = local.status_token ? [1] : []
    content {
      name  = "status-token"
      value = var.status_token
    }
  }

  # The status page and /status inside the environment's network only (docs/operations.md).
  dynamic "ingress" {
    for_each = var.status_ingress ? [1] : []
    content {
      external_enabled = false
      target_port      = 9464
      transport        = "http"
      traffic_weight {
        latest_revision = true
        percentage      = 100
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !var.status_ingress || local.status_token
      error_message = "status_ingress needs status_token: the status is not served off loopback without one."
    }
  }

  template {
    # One replica: a second one would need leader election (see docs/operations.md).
    min_replicas = 1
    max_replicas = 1

    container {
      name   = "aca-operator"
      image  = var.image
      cpu    = 0.25
      memory = "0.5Gi"
      args   = local.run_args

      env {
        name  = "ACA_AUTH"
        value = "managed-identity"
      }
      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.operator.client_id
      }
      env {
        name  = "ACA_LOG_FORMAT"
        value = "json"
      }

      volume_mounts {
        name = "config"
        path = "/config"
      }

      liveness_probe {
        transport = "HTTP"
        port      = 9464
        path      = "/healthz"
      }
      readiness_probe {
        transport = "HTTP"
        port      = 9464
        path      = "/readyz"
      }
    }

    volume {
      name         = "config"
      storage_type = "Secret"
    }
  }

  depends_on = [azurerm_role_assignment.operator, azurerm_role_assignment.events_processor]
}
