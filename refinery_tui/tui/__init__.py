"""The Textual workbench: block tree, editor, Run and Problems panes, over the same APIs as the command line."""
