"""`python -m tinyweb …` (and `accelerate launch -m tinyweb train …`): the same commands as `tinyweb`."""

from tinyweb.cli import main

if __name__ == "__main__":
    main()
