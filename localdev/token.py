"""`make token USER_ID=alice`: a token for local requests, signed with the local SECRET_KEY."""

import sys

from localdev.server import prepare_environment


def main(user_id: str) -> None:
    prepare_environment(database=False)
    from todo_common.settings import get_settings
    from todo_common.tokens import issue_access_token

    print(issue_access_token(get_settings(), user_id)[0])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dev-user")
