/** Schema names we put in search_path unquoted: lowercase identifiers (shared by the config check and the client, without loading the driver). */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/
