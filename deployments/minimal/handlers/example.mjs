// A minimal local handler: see deployments/default/handlers/example.mjs for the contract.
export const echo = {
  id: "echo",
  methods: {
    echo: ({ args, kwargs }) => ({ args, kwargs })
  }
}
