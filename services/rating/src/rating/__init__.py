"""Rating service: contracts with effective-dated history, running charges, period close."""
