"""Entry point of the `funnel` command."""
import click


@click.group()
def main() -> None:
    """funnel: rules as code for the marketing-to-sales funnel."""
