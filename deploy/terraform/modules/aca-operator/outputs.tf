output "identity_principal_id" {
  description = "The operator identity's principal id."
  value       = azurerm_user_assigned_identity.operator.principal_id
}

output "role_definition_id" {
  description = "The custom role's id."
  value       = azurerm_role_definition.operator.role_definition_resource_id
}

output "container_app_id" {
  description = "The operator app's id."
  value       = azurerm_container_app.operator.id
}
