"""`pulumi up --stack aws|gcp|azure`: the whole program lives in stacks/."""

from stacks.program import main

main()
