"""funnel-policy: rules as code for the marketing-to-sales funnel."""
